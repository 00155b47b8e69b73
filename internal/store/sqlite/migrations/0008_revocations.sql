-- 0008_revocations: the revocation set (session.Revocations), shared by every
-- node through the change feed. Times are Unix milliseconds; an entry is
-- pruned once expires_ms (the end of the last credential it can match) has
-- passed. origin_keys is a JSON array of access key ids.

CREATE TABLE revocations (
	id               TEXT PRIMARY KEY,
	account          TEXT NOT NULL,
	kind             TEXT NOT NULL,
	target           TEXT NOT NULL,
	role_id          TEXT NOT NULL,
	origin_keys      TEXT NOT NULL,
	issued_before_ms INTEGER NOT NULL,
	created_ms       INTEGER NOT NULL,
	expires_ms       INTEGER NOT NULL,
	created_by       TEXT NOT NULL,
	reason           TEXT NOT NULL
) STRICT;
CREATE INDEX revocations_expires ON revocations (expires_ms);
CREATE INDEX revocations_account ON revocations (account, created_ms);
