-- 0012_throttles: failure counters shared by every process on the data
-- (store.Throttles): failed MFA codes per device, failed directory binds per
-- user and per source address. key is a hash of what is counted; times are
-- Unix milliseconds; expires_ms is when the row stops mattering.

CREATE TABLE throttles (
	key             BLOB PRIMARY KEY,
	failures        INTEGER NOT NULL,
	window_start_ms INTEGER NOT NULL,
	locked_until_ms INTEGER NOT NULL,
	expires_ms      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX throttles_expires ON throttles (expires_ms);
