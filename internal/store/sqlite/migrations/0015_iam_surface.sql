-- 0015_iam_surface: IAM resources beyond principals and policies.
--
-- instance_profiles: an instance profile holds at most one role (role_pk;
-- deleting the role empties it, though IAM refuses to delete a role that is
-- in a profile). Names are unique per account case-insensitively; lists
-- page by name, under a path, or by role, as roles do (0003, 0004).

CREATE TABLE instance_profiles (
	pk         INTEGER PRIMARY KEY,
	account    TEXT NOT NULL,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL COLLATE NOCASE,
	path       TEXT NOT NULL,
	created_at TEXT,
	tags       TEXT NOT NULL,
	role_pk    INTEGER REFERENCES roles (pk) ON DELETE SET NULL,
	UNIQUE (account, name)
) STRICT;
CREATE INDEX instance_profiles_path ON instance_profiles (account, path, name);
CREATE INDEX instance_profiles_role ON instance_profiles (role_pk, name);

-- login_profiles: a user's console password, as a one-way hash (never the
-- password); previous holds earlier hashes (JSON array, newest first) for
-- the account's reuse prevention. password_policies: one JSON document per
-- account.
CREATE TABLE login_profiles (
	user_pk        INTEGER PRIMARY KEY REFERENCES users (pk) ON DELETE CASCADE,
	password_hash  TEXT NOT NULL,
	reset_required INTEGER NOT NULL,
	created_at     TEXT,
	changed_at     TEXT,
	previous       TEXT NOT NULL
) STRICT;

CREATE TABLE password_policies (
	account TEXT PRIMARY KEY,
	policy  TEXT NOT NULL
) STRICT;

-- account_aliases: one alias per account, unique across the deployment.
CREATE TABLE account_aliases (
	account TEXT PRIMARY KEY,
	alias   TEXT NOT NULL UNIQUE
) STRICT;
