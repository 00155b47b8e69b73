-- 0016_iam_credentials: users' other credentials, server certificates and
-- the results of IAM's long-running operations.
--
-- user_credentials: a user's SSH public keys, signing certificates and
-- service-specific credentials (kind), going with the user. fingerprint
-- identifies the content (unique per user and kind); secret is the sealed
-- password of a service-specific credential.
CREATE TABLE user_credentials (
	id                TEXT PRIMARY KEY,
	user_pk           INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
	kind              TEXT NOT NULL,
	status            TEXT NOT NULL,
	created_at        TEXT,
	expires_at        TEXT,
	body              TEXT NOT NULL,
	fingerprint       TEXT NOT NULL,
	service_name      TEXT NOT NULL,
	service_user_name TEXT NOT NULL,
	secret            BLOB,
	UNIQUE (user_pk, kind, fingerprint)
) STRICT;

-- server_certificates: names unique per account case-insensitively, listed
-- by name under a path as roles are (0003, 0004); private_key is sealed.
CREATE TABLE server_certificates (
	pk          INTEGER PRIMARY KEY,
	account     TEXT NOT NULL,
	id          TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL COLLATE NOCASE,
	path        TEXT NOT NULL,
	body        TEXT NOT NULL,
	chain       TEXT NOT NULL,
	private_key BLOB NOT NULL,
	uploaded_at TEXT,
	expires_at  TEXT,
	tags        TEXT NOT NULL,
	UNIQUE (account, name)
) STRICT;
CREATE INDEX server_certificates_path ON server_certificates (account, path, name);

-- credential_reports: an account's latest report. role_deletion_tasks: the
-- outcome of each DeleteServiceLinkedRole.
CREATE TABLE credential_reports (
	account      TEXT PRIMARY KEY,
	generated_at TEXT,
	content      BLOB NOT NULL
) STRICT;

CREATE TABLE role_deletion_tasks (
	id         TEXT PRIMARY KEY,
	account    TEXT NOT NULL,
	role_name  TEXT NOT NULL,
	status     TEXT NOT NULL,
	reason     TEXT NOT NULL,
	created_at TEXT
) STRICT;
