-- The apply lock, by lock id (7.14). Times are Unix seconds (UTC).
--
-- SQLite: the row is a lease. Its holder renews `expires_at` while the apply runs; an
-- expired lease is taken over, a live one never is, whatever its host or PID.
-- PostgreSQL: the lock is the session-level advisory lock held by the connection whose
-- backend PID is `session`; the row only tells who holds it (`expires_at` is NULL).
DROP TABLE apply_lock;
CREATE TABLE apply_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    lock_id     TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    pid         BIGINT  NOT NULL,
    since       BIGINT  NOT NULL,
    expires_at  BIGINT,
    session     BIGINT
);
