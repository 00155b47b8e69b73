-- 0001_init: the initial OpenSTS schema.
--
-- Conventions:
--   * Times are TEXT in UTC, fixed width "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" so that
--     string order is time order; NULL is the zero time.
--   * Names AWS treats case-insensitively are COLLATE NOCASE and unique per account.
--   * Users, groups and roles have an internal integer key (pk). Everything that
--     belongs to one of them refers to that key, so a rename carries memberships,
--     policies, attachments and keys along, and a deleted principal leaves nothing
--     a new principal of the same name could inherit.

CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	email      TEXT NOT NULL,
	created_at TEXT,
	management INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE users (
	pk         INTEGER PRIMARY KEY,
	account    TEXT NOT NULL,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL COLLATE NOCASE,
	path       TEXT NOT NULL,
	created_at TEXT,
	boundary   TEXT NOT NULL,
	tags       TEXT NOT NULL,
	UNIQUE (account, name)
) STRICT;

CREATE TABLE groups (
	pk         INTEGER PRIMARY KEY,
	account    TEXT NOT NULL,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL COLLATE NOCASE,
	path       TEXT NOT NULL,
	created_at TEXT,
	UNIQUE (account, name)
) STRICT;

CREATE TABLE group_members (
	group_pk INTEGER NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
	user_pk  INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
	PRIMARY KEY (group_pk, user_pk)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_pk);

CREATE TABLE roles (
	pk                   INTEGER PRIMARY KEY,
	account              TEXT NOT NULL,
	id                   TEXT NOT NULL UNIQUE,
	name                 TEXT NOT NULL COLLATE NOCASE,
	path                 TEXT NOT NULL,
	trust_policy         TEXT NOT NULL,
	description          TEXT NOT NULL,
	max_session_duration INTEGER NOT NULL,
	boundary             TEXT NOT NULL,
	created_at           TEXT,
	tags                 TEXT NOT NULL,
	last_used_at         TEXT,
	last_used_region     TEXT NOT NULL,
	UNIQUE (account, name)
) STRICT;

-- user_pk is NULL for the account root's keys.
CREATE TABLE access_keys (
	id                TEXT PRIMARY KEY,
	account           TEXT NOT NULL,
	user_pk           INTEGER REFERENCES users (pk) ON DELETE CASCADE,
	user_id           TEXT NOT NULL,
	secret            BLOB,
	status            TEXT NOT NULL,
	created_at        TEXT,
	last_used_at      TEXT,
	last_used_service TEXT NOT NULL DEFAULT '',
	last_used_region  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX access_keys_owner ON access_keys (account, user_pk);
CREATE INDEX access_keys_user ON access_keys (user_pk);

-- Exactly one of user_pk, group_pk, role_pk is set.
CREATE TABLE inline_policies (
	pk       INTEGER PRIMARY KEY,
	user_pk  INTEGER REFERENCES users (pk) ON DELETE CASCADE,
	group_pk INTEGER REFERENCES groups (pk) ON DELETE CASCADE,
	role_pk  INTEGER REFERENCES roles (pk) ON DELETE CASCADE,
	name     TEXT NOT NULL COLLATE NOCASE,
	document TEXT NOT NULL,
	CHECK ((user_pk IS NOT NULL) + (group_pk IS NOT NULL) + (role_pk IS NOT NULL) = 1),
	UNIQUE (user_pk, name),
	UNIQUE (group_pk, name),
	UNIQUE (role_pk, name)
) STRICT;

CREATE TABLE managed_policies (
	pk                 INTEGER PRIMARY KEY,
	account            TEXT NOT NULL,
	id                 TEXT NOT NULL UNIQUE,
	name               TEXT NOT NULL COLLATE NOCASE,
	path               TEXT NOT NULL,
	arn                TEXT NOT NULL COLLATE NOCASE UNIQUE,
	description        TEXT NOT NULL,
	default_version_id TEXT NOT NULL,
	created_at         TEXT,
	updated_at         TEXT,
	tags               TEXT NOT NULL,
	UNIQUE (account, name)
) STRICT;

CREATE TABLE policy_versions (
	policy_pk  INTEGER NOT NULL REFERENCES managed_policies (pk) ON DELETE CASCADE,
	version_id TEXT NOT NULL,
	document   TEXT NOT NULL,
	created_at TEXT,
	PRIMARY KEY (policy_pk, version_id)
) STRICT, WITHOUT ROWID;

-- Exactly one of user_pk, group_pk, role_pk is set. A policy cannot be deleted
-- while attached (RESTRICT); the store reports that as ErrConflict.
CREATE TABLE attachments (
	pk        INTEGER PRIMARY KEY,
	user_pk   INTEGER REFERENCES users (pk) ON DELETE CASCADE,
	group_pk  INTEGER REFERENCES groups (pk) ON DELETE CASCADE,
	role_pk   INTEGER REFERENCES roles (pk) ON DELETE CASCADE,
	policy_pk INTEGER NOT NULL REFERENCES managed_policies (pk) ON DELETE RESTRICT,
	CHECK ((user_pk IS NOT NULL) + (group_pk IS NOT NULL) + (role_pk IS NOT NULL) = 1),
	UNIQUE (user_pk, policy_pk),
	UNIQUE (group_pk, policy_pk),
	UNIQUE (role_pk, policy_pk)
) STRICT;
CREATE INDEX attachments_policy ON attachments (policy_pk);

CREATE TABLE mfa_devices (
	serial       TEXT PRIMARY KEY COLLATE NOCASE,
	account      TEXT NOT NULL,
	name         TEXT NOT NULL COLLATE NOCASE,
	path         TEXT NOT NULL,
	seed         BLOB,
	user_pk      INTEGER REFERENCES users (pk) ON DELETE SET NULL,
	enabled_at   TEXT,
	created_at   TEXT,
	tags         TEXT NOT NULL,
	last_counter INTEGER NOT NULL,
	UNIQUE (account, name)
) STRICT;
CREATE INDEX mfa_devices_user ON mfa_devices (user_pk);

CREATE TABLE signing_keys (
	id           TEXT PRIMARY KEY,
	algorithm    TEXT NOT NULL,
	public       BLOB,
	private      BLOB,
	created_at   TEXT,
	sign_until   TEXT,
	verify_until TEXT,
	revoked      INTEGER NOT NULL
) STRICT;

CREATE TABLE org_policies (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL,
	type        TEXT NOT NULL,
	content     TEXT NOT NULL,
	aws_managed INTEGER NOT NULL
) STRICT;

CREATE TABLE org_attachments (
	policy_id TEXT NOT NULL REFERENCES org_policies (id) ON DELETE RESTRICT,
	target_id TEXT NOT NULL,
	PRIMARY KEY (policy_id, target_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- One row: increased in the same transaction as every write that can change an
-- authorization decision.
CREATE TABLE generation (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value INTEGER NOT NULL
) STRICT;
INSERT INTO generation (id, value) VALUES (1, 0);
