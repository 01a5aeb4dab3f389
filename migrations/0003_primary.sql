-- The primary zonekeeper last sent changes to: where it answers and how its control
-- channel is reached (paths only, never a secret). When the desired primary differs, the
-- zones move to it (procedure move-primary) and this row follows at the end. One row.

CREATE TABLE primary_server (
    id          BIGINT  NOT NULL PRIMARY KEY,   -- always 1
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL,               -- address and port
    rndc        TEXT    NOT NULL,
    rndc_conf   TEXT    NOT NULL,
    config_dir  TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);
