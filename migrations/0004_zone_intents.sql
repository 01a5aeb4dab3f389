-- Write-ahead of zone changes: before an UPDATE is sent, the content (canonical text) and
-- serial it brings are written here; once the primary's content is verified and the zone
-- recorded, the row goes. A row left behind means a run was killed after sending: the next
-- apply recognises its own landed change by comparing the primary's AXFR with `content`.

CREATE TABLE zone_intents (
    name        TEXT    NOT NULL PRIMARY KEY,
    grp         TEXT    NOT NULL,
    serial      BIGINT  NOT NULL,
    content     TEXT    NOT NULL,
    commit_id   TEXT    NOT NULL,
    written_at  BIGINT  NOT NULL
);
