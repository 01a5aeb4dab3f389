-- Staged operations (adding or removing a secondary, ...) and their steps. Each step's state
-- is written before and after it acts, so an interrupted apply resumes where it stopped.

CREATE TABLE operations (
    id          {{identity}},
    kind        TEXT    NOT NULL,   -- add-secondary, remove-secondary, ...
    grp         TEXT    NOT NULL,
    server      TEXT    NOT NULL,
    zones       TEXT    NOT NULL,   -- space-separated zone names
    revision    TEXT    NOT NULL,   -- the commit that caused it
    state       TEXT    NOT NULL,   -- active, done, cancelled
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE steps (
    op_id       BIGINT  NOT NULL,
    idx         BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    spec        TEXT    NOT NULL,   -- JSON: what the step does and what proves it took effect
    state       TEXT    NOT NULL,   -- pending, running, waiting, done, failed
    attempts    BIGINT  NOT NULL,
    not_before  BIGINT,             -- Unix seconds: the step may not act before
    confirmed   BIGINT  NOT NULL,   -- 1 once `zonekeeper confirm` was given
    message     TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (op_id, idx)
);
