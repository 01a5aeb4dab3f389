-- Drift (issue 10): zones the primary serves other than recorded, found by transferring
-- them (AXFR) and comparing with the recorded content. One row per drifting zone, replaced
-- on each check of that zone and removed when it no longer drifts or when an apply records
-- it (every recording is verified by transfer). `changes` is the difference, one JSON
-- object per line (an RRset: owner, type, recorded lines, served lines); `served_hash` is
-- the served content's hash, serial and order of lines aside (`drift::content_key`).
CREATE TABLE zone_drift (
    name            TEXT    NOT NULL PRIMARY KEY,
    detected_at     BIGINT  NOT NULL,
    served_serial   BIGINT,
    recorded_serial BIGINT  NOT NULL,
    served_hash     TEXT    NOT NULL,
    changes         TEXT    NOT NULL
);

-- Where the content pass (`drift::pass`) goes on: the last zone it checked, by name; the
-- next pass starts after it and wraps around to the first zone.
CREATE TABLE drift_cursor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    last_zone   TEXT    NOT NULL,
    passed_at   BIGINT  NOT NULL,
    wrapped     BIGINT  NOT NULL
);
