-- 0008_revocations: the revocation set (see the SQLite migration of the same
-- name).

CREATE TABLE revocations (
	id               TEXT PRIMARY KEY,
	account          TEXT NOT NULL,
	kind             TEXT NOT NULL,
	target           TEXT NOT NULL,
	role_id          TEXT NOT NULL,
	origin_keys      TEXT NOT NULL,
	issued_before_ms BIGINT NOT NULL,
	created_ms       BIGINT NOT NULL,
	expires_ms       BIGINT NOT NULL,
	created_by       TEXT NOT NULL,
	reason           TEXT NOT NULL
);
CREATE INDEX revocations_expires ON revocations (expires_ms);
CREATE INDEX revocations_account ON revocations (account, created_ms);
