-- Staged operations, continued (issue 7, items 8 and 11-13).
--
-- steps.finished_at: when a step finished (Unix seconds, read from the clock at that moment,
--   not the start of the apply): a time gate counts from the previous step's finish.
-- steps.next_check_at: a failed check is not repeated before this (back-off), by any apply
--   of the same revision (checked_revision): a new commit may be the fix, so it is due at once.
-- operations.version: bumped by every operator action (confirm, reset, cancel). The executor
--   writes an operation's steps only while the version it read still holds, so an operator's
--   change made during an apply is never overwritten by the apply's stale copy.
-- catalog_serials: the last serial each member catalog had when it left the primary; a
--   catalog created again starts above it (RFC 1982: a zone's serial never goes back, or
--   the secondaries that still hold the old catalog never transfer the new one).

ALTER TABLE steps ADD COLUMN finished_at BIGINT;
ALTER TABLE steps ADD COLUMN next_check_at BIGINT;
ALTER TABLE steps ADD COLUMN checked_revision TEXT;
ALTER TABLE operations ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE catalog_serials (
    name        TEXT    NOT NULL PRIMARY KEY,   -- the member catalog zone, lower case
    serial      BIGINT  NOT NULL,               -- its last serial on the primary
    updated_at  BIGINT  NOT NULL
);
