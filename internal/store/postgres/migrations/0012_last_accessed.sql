-- 0012_last_accessed: IAM service last accessed data (see the SQLite
-- migration of the same name).

CREATE TABLE service_access (
	principal_id TEXT NOT NULL,
	service      TEXT NOT NULL,
	action       TEXT NOT NULL,
	account      TEXT NOT NULL,
	at_ms        BIGINT NOT NULL,
	region       TEXT NOT NULL,
	PRIMARY KEY (principal_id, service, action)
);

CREATE TABLE access_reports (
	account    TEXT NOT NULL,
	id         TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	data       BYTEA NOT NULL,
	PRIMARY KEY (account, id)
);
CREATE INDEX access_reports_created ON access_reports (created_ms);
