-- What each zone was built from (`source`): its file's Git blob id and the configuration
-- settings zones are built with, hashed. A plan skips a verified zone whose file and
-- settings are what they were when it was applied, without reading it, even when the
-- applied commit is gone from the repository or zonekeeper.yaml changed. Empty: not known
-- (recorded before this column, or from an interrupted apply), so the zone is read.
ALTER TABLE zones ADD COLUMN source TEXT NOT NULL DEFAULT '';
DROP INDEX zones_index;
CREATE INDEX zones_index ON zones (name, serial, content_hash, verified, commit_id, source, grp);
