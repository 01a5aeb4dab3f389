-- Serial continuity (issue 11): the SOA serial each imported zone had where it came from
-- (a zone file, a transfer), recorded by `zonekeeper import`. When apply creates the zone,
-- its first serial follows this one (RFC 1982), never the date serial alone, so the
-- secondaries that served the zone before take it. Replaced by a later import of the zone.
CREATE TABLE zone_serial_floor (
    name        TEXT    NOT NULL PRIMARY KEY,
    serial      BIGINT  NOT NULL,
    source      TEXT    NOT NULL,
    imported_at BIGINT  NOT NULL
);
