-- 0011_detect: what the detection engine shares across restarts and nodes
-- (see the SQLite migration of the same name).

CREATE TABLE detect_alerts (
	key      BYTEA PRIMARY KEY,
	until_ms BIGINT NOT NULL
);
CREATE INDEX detect_alerts_until ON detect_alerts (until_ms);

CREATE TABLE detect_baselines (
	subject    TEXT PRIMARY KEY,
	data       BYTEA NOT NULL,
	updated_ms BIGINT NOT NULL
);
