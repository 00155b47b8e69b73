-- 0016_iam_surface: IAM resources beyond principals and policies (see the
-- SQLite migration of the same name).

CREATE TABLE instance_profiles (
	pk         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account    TEXT NOT NULL,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL COLLATE ci,
	path       TEXT NOT NULL,
	created_at TIMESTAMPTZ,
	tags       JSONB NOT NULL,
	role_pk    BIGINT REFERENCES roles (pk) ON DELETE SET NULL,
	UNIQUE (account, name)
);
CREATE INDEX instance_profiles_list ON instance_profiles (account, (lower(name)) COLLATE "C");
CREATE INDEX instance_profiles_path ON instance_profiles (account, path COLLATE "C", (lower(name)) COLLATE "C");
CREATE INDEX instance_profiles_role ON instance_profiles (role_pk, (lower(name)) COLLATE "C");

CREATE TABLE login_profiles (
	user_pk        BIGINT PRIMARY KEY REFERENCES users (pk) ON DELETE CASCADE,
	password_hash  TEXT NOT NULL,
	reset_required BOOLEAN NOT NULL,
	created_at     TIMESTAMPTZ,
	changed_at     TIMESTAMPTZ,
	previous       TEXT NOT NULL
);

CREATE TABLE password_policies (
	account TEXT PRIMARY KEY,
	policy  TEXT NOT NULL
);

CREATE TABLE account_aliases (
	account TEXT PRIMARY KEY,
	alias   TEXT NOT NULL UNIQUE
);
