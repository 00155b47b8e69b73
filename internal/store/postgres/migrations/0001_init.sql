-- 0001_init: the initial OpenSTS schema (PostgreSQL port of the SQLite one).
--
-- Conventions:
--   * Times are TIMESTAMPTZ (microsecond precision); NULL is the zero time.
--   * Names AWS treats case-insensitively use the case-insensitive collation ci
--     and are unique per account; lists order by lower(name) COLLATE "C", which
--     is the order SQLite's NOCASE gives.
--   * Users, groups and roles have an internal integer key (pk). Everything that
--     belongs to one of them refers to that key, so a rename carries memberships,
--     policies, attachments and keys along, and a deleted principal leaves nothing
--     a new principal of the same name could inherit.

CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	email      TEXT NOT NULL,
	created_at TIMESTAMPTZ,
	management BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE users (
	pk         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account    TEXT NOT NULL,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL COLLATE ci,
	path       TEXT NOT NULL,
	created_at TIMESTAMPTZ,
	boundary   TEXT NOT NULL,
	tags       JSONB NOT NULL,
	UNIQUE (account, name)
);

CREATE TABLE groups (
	pk         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account    TEXT NOT NULL,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL COLLATE ci,
	path       TEXT NOT NULL,
	created_at TIMESTAMPTZ,
	UNIQUE (account, name)
);

CREATE TABLE group_members (
	group_pk BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
	user_pk  BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
	PRIMARY KEY (group_pk, user_pk)
);
CREATE INDEX group_members_user ON group_members (user_pk);

CREATE TABLE roles (
	pk                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account              TEXT NOT NULL,
	id                   TEXT NOT NULL UNIQUE,
	name                 TEXT NOT NULL COLLATE ci,
	path                 TEXT NOT NULL,
	trust_policy         TEXT NOT NULL,
	description          TEXT NOT NULL,
	max_session_duration INTEGER NOT NULL,
	boundary             TEXT NOT NULL,
	created_at           TIMESTAMPTZ,
	tags                 JSONB NOT NULL,
	last_used_at         TIMESTAMPTZ,
	last_used_region     TEXT NOT NULL,
	UNIQUE (account, name)
);

-- user_pk is NULL for the account root's keys.
CREATE TABLE access_keys (
	id                TEXT PRIMARY KEY,
	account           TEXT NOT NULL,
	user_pk           BIGINT REFERENCES users (pk) ON DELETE CASCADE,
	user_id           TEXT NOT NULL,
	secret            BYTEA,
	status            TEXT NOT NULL,
	created_at        TIMESTAMPTZ,
	last_used_at      TIMESTAMPTZ,
	last_used_service TEXT NOT NULL DEFAULT '',
	last_used_region  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_keys_owner ON access_keys (account, user_pk);
CREATE INDEX access_keys_user ON access_keys (user_pk);

-- Exactly one of user_pk, group_pk, role_pk is set.
CREATE TABLE inline_policies (
	pk       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_pk  BIGINT REFERENCES users (pk) ON DELETE CASCADE,
	group_pk BIGINT REFERENCES groups (pk) ON DELETE CASCADE,
	role_pk  BIGINT REFERENCES roles (pk) ON DELETE CASCADE,
	name     TEXT NOT NULL COLLATE ci,
	document TEXT NOT NULL,
	CHECK (num_nonnulls(user_pk, group_pk, role_pk) = 1),
	UNIQUE (user_pk, name),
	UNIQUE (group_pk, name),
	UNIQUE (role_pk, name)
);

CREATE TABLE managed_policies (
	pk                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account            TEXT NOT NULL,
	id                 TEXT NOT NULL UNIQUE,
	name               TEXT NOT NULL COLLATE ci,
	path               TEXT NOT NULL,
	arn                TEXT NOT NULL COLLATE ci UNIQUE,
	description        TEXT NOT NULL,
	default_version_id TEXT NOT NULL,
	created_at         TIMESTAMPTZ,
	updated_at         TIMESTAMPTZ,
	tags               JSONB NOT NULL,
	UNIQUE (account, name)
);

CREATE TABLE policy_versions (
	policy_pk  BIGINT NOT NULL REFERENCES managed_policies (pk) ON DELETE CASCADE,
	version_id TEXT NOT NULL,
	document   TEXT NOT NULL,
	created_at TIMESTAMPTZ,
	PRIMARY KEY (policy_pk, version_id)
);

-- Exactly one of user_pk, group_pk, role_pk is set. A policy cannot be deleted
-- while attached (RESTRICT); the store reports that as ErrConflict.
CREATE TABLE attachments (
	pk        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_pk   BIGINT REFERENCES users (pk) ON DELETE CASCADE,
	group_pk  BIGINT REFERENCES groups (pk) ON DELETE CASCADE,
	role_pk   BIGINT REFERENCES roles (pk) ON DELETE CASCADE,
	policy_pk BIGINT NOT NULL REFERENCES managed_policies (pk) ON DELETE RESTRICT,
	CHECK (num_nonnulls(user_pk, group_pk, role_pk) = 1),
	UNIQUE (user_pk, policy_pk),
	UNIQUE (group_pk, policy_pk),
	UNIQUE (role_pk, policy_pk)
);
CREATE INDEX attachments_policy ON attachments (policy_pk);

CREATE TABLE mfa_devices (
	serial       TEXT PRIMARY KEY COLLATE ci,
	account      TEXT NOT NULL,
	name         TEXT NOT NULL COLLATE ci,
	path         TEXT NOT NULL,
	seed         BYTEA,
	user_pk      BIGINT REFERENCES users (pk) ON DELETE SET NULL,
	enabled_at   TIMESTAMPTZ,
	created_at   TIMESTAMPTZ,
	tags         JSONB NOT NULL,
	last_counter BIGINT NOT NULL,
	UNIQUE (account, name)
);
CREATE INDEX mfa_devices_user ON mfa_devices (user_pk);

CREATE TABLE signing_keys (
	id           TEXT PRIMARY KEY,
	algorithm    TEXT NOT NULL,
	public       BYTEA,
	private      BYTEA,
	created_at   TIMESTAMPTZ,
	sign_until   TIMESTAMPTZ,
	verify_until TIMESTAMPTZ,
	revoked      BOOLEAN NOT NULL
);

CREATE TABLE org_policies (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL,
	type        TEXT NOT NULL,
	content     TEXT NOT NULL,
	aws_managed BOOLEAN NOT NULL
);

CREATE TABLE org_attachments (
	policy_id TEXT NOT NULL REFERENCES org_policies (id) ON DELETE RESTRICT,
	target_id TEXT NOT NULL,
	PRIMARY KEY (policy_id, target_id)
);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- One row: increased in the same transaction as every write that can change an
-- authorization decision.
CREATE TABLE generation (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value BIGINT NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);
