-- Fleet health (the sweep of `zonekeeper check` and `watch`). Times are Unix seconds (UTC).
--
-- Each server keeps, besides its last check: since when it has been in its state, how
-- many of its zones it served at the expected serial and how many lagged, and since when
-- it is in maintenance (NULL: it is not). A secondary in maintenance is not asked and
-- does not hold changes back; it is verified on every zone it missed when it returns.
ALTER TABLE servers ADD COLUMN state_since BIGINT;
ALTER TABLE servers ADD COLUMN zones_served BIGINT;
ALTER TABLE servers ADD COLUMN zones_lagging BIGINT;
ALTER TABLE servers ADD COLUMN maintenance_since BIGINT;

-- One row per zone a server does not serve at the expected serial (the primary's serial,
-- for a secondary; the recorded one, for the primary), since the sweep that first saw it.
-- `served` is NULL when the server does not serve the zone at all. A zone a secondary
-- missed while it was down or in maintenance stays here until a sweep sees it caught up.
CREATE TABLE zone_lag (
    zone      TEXT    NOT NULL,
    server    TEXT    NOT NULL,
    expected  BIGINT  NOT NULL,
    served    BIGINT,
    since     BIGINT  NOT NULL,
    detail    TEXT    NOT NULL,
    PRIMARY KEY (zone, server)
);
CREATE INDEX zone_lag_server ON zone_lag (server);

-- The last sweep: when it ran, how long it took, what it asked.
CREATE TABLE last_sweep (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    started_at   BIGINT  NOT NULL,
    duration_ms  BIGINT  NOT NULL,
    zones        BIGINT  NOT NULL,
    queries      BIGINT  NOT NULL
);

-- The daemon that leads (`zonekeeper watch`): who, since when, when it was last awake,
-- and when it looks again, for `status`.
CREATE TABLE daemon (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    host        TEXT    NOT NULL,
    pid         BIGINT  NOT NULL,
    since       BIGINT  NOT NULL,
    seen_at     BIGINT  NOT NULL,
    revision    TEXT    NOT NULL,
    next_wake   BIGINT  NOT NULL,
    next_sweep  BIGINT  NOT NULL
);
