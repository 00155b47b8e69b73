-- 0011_last_accessed: IAM service last accessed data.
--
-- service_access holds, per principal (user or role, by unique id), service
-- namespace and action, the last authenticated use (at_ms, Unix
-- milliseconds) and its region; the server coalesces uses in memory and
-- writes them in batches. access_reports holds the reports of
-- GenerateServiceLastAccessedDetails (an opaque document) for the
-- GetServiceLastAccessedDetails* calls that read them, on any node.

CREATE TABLE service_access (
	principal_id TEXT NOT NULL,
	service      TEXT NOT NULL,
	action       TEXT NOT NULL,
	account      TEXT NOT NULL,
	at_ms        INTEGER NOT NULL,
	region       TEXT NOT NULL,
	PRIMARY KEY (principal_id, service, action)
) STRICT, WITHOUT ROWID;

CREATE TABLE access_reports (
	account    TEXT NOT NULL,
	id         TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	data       BLOB NOT NULL,
	PRIMARY KEY (account, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX access_reports_created ON access_reports (created_ms);
