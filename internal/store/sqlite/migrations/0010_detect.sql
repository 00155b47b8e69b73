-- 0010_detect: what the detection engine shares across restarts and nodes.
--
-- detect_alerts holds one row per alert key (rule and subject, hashed) while
-- its cool-down lasts, so that a cluster raises one alert per incident;
-- until_ms is Unix milliseconds. detect_baselines holds each learned
-- baseline (a role's networks and clients, a principal's actions, hours and
-- call rate) as an opaque document.

CREATE TABLE detect_alerts (
	key      BLOB PRIMARY KEY,
	until_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX detect_alerts_until ON detect_alerts (until_ms);

CREATE TABLE detect_baselines (
	subject    TEXT PRIMARY KEY,
	data       BLOB NOT NULL,
	updated_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
