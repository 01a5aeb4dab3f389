-- zonekeeper store, {{dialect}} flavour. Times are Unix seconds (UTC).

-- The last revision applied in full, and who made it.
CREATE TABLE applied_revision (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    commit_id   TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    applied_at  BIGINT  NOT NULL
);

-- Each zone as applied: its group, serial and canonical content (SOA first).
CREATE TABLE zones (
    name          TEXT    PRIMARY KEY,
    grp           TEXT    NOT NULL,
    serial        BIGINT  NOT NULL,
    content_hash  TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    verified      BIGINT  NOT NULL,   -- 1 once every server of its group served the serial
    commit_id     TEXT    NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- Server groups as applied.
CREATE TABLE groups (
    name         TEXT PRIMARY KEY,
    catalog      TEXT NOT NULL,
    secondaries  TEXT NOT NULL,      -- space-separated server names
    nameservers  TEXT NOT NULL       -- space-separated NS names
);

-- Servers as applied, with the result of the last check (OK, RETRY, BROKEN).
CREATE TABLE servers (
    name           TEXT    PRIMARY KEY,
    role           TEXT    NOT NULL,  -- primary or secondary
    address        TEXT    NOT NULL,
    software       TEXT    NOT NULL,
    groups         TEXT    NOT NULL,
    last_check_at  BIGINT,
    last_state     TEXT,
    last_message   TEXT
);

-- One row per applied change: commit, author, time, what changed.
CREATE TABLE audit (
    id          {{identity}},
    at          BIGINT  NOT NULL,
    commit_id   TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);

-- At most one apply at a time.
CREATE TABLE apply_lock (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    holder  TEXT    NOT NULL,
    since   BIGINT  NOT NULL
);
