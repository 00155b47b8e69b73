-- 0017_iam_credentials: users' other credentials, server certificates and
-- the results of IAM's long-running operations (see the SQLite migration of
-- the same name).

CREATE TABLE user_credentials (
	id                TEXT PRIMARY KEY,
	user_pk           BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
	kind              TEXT NOT NULL,
	status            TEXT NOT NULL,
	created_at        TIMESTAMPTZ,
	expires_at        TIMESTAMPTZ,
	body              TEXT NOT NULL,
	fingerprint       TEXT NOT NULL,
	service_name      TEXT NOT NULL,
	service_user_name TEXT NOT NULL,
	secret            BYTEA,
	UNIQUE (user_pk, kind, fingerprint)
);

CREATE TABLE server_certificates (
	pk          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account     TEXT NOT NULL,
	id          TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL COLLATE ci,
	path        TEXT NOT NULL,
	body        TEXT NOT NULL,
	chain       TEXT NOT NULL,
	private_key BYTEA NOT NULL,
	uploaded_at TIMESTAMPTZ,
	expires_at  TIMESTAMPTZ,
	tags        JSONB NOT NULL,
	UNIQUE (account, name)
);
CREATE INDEX server_certificates_list ON server_certificates (account, (lower(name)) COLLATE "C");
CREATE INDEX server_certificates_path ON server_certificates (account, path COLLATE "C", (lower(name)) COLLATE "C");

CREATE TABLE credential_reports (
	account      TEXT PRIMARY KEY,
	generated_at TIMESTAMPTZ,
	content      BYTEA NOT NULL
);

CREATE TABLE role_deletion_tasks (
	id         TEXT PRIMARY KEY,
	account    TEXT NOT NULL,
	role_name  TEXT NOT NULL,
	status     TEXT NOT NULL,
	reason     TEXT NOT NULL,
	created_at TIMESTAMPTZ
);
