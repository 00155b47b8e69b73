-- 0013_throttles: failure counters shared by every node (see the SQLite
-- migration of the same name).

CREATE TABLE throttles (
	key             BYTEA PRIMARY KEY,
	failures        INTEGER NOT NULL,
	window_start_ms BIGINT NOT NULL,
	locked_until_ms BIGINT NOT NULL,
	expires_ms      BIGINT NOT NULL
);
CREATE INDEX throttles_expires ON throttles (expires_ms);
