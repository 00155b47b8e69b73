-- 0014_mfa_path: a virtual MFA device's name is unique per path, as in AWS
-- (its serial number, arn:aws:iam::ACCOUNT:mfa/PATH/NAME, is the key): the
-- table loses UNIQUE (account, name), which SQLite drops only by rebuilding
-- the table; its indexes are made again.
CREATE TABLE mfa_devices_new (
	serial       TEXT PRIMARY KEY COLLATE NOCASE,
	account      TEXT NOT NULL,
	name         TEXT NOT NULL COLLATE NOCASE,
	path         TEXT NOT NULL,
	seed         BLOB,
	user_pk      INTEGER REFERENCES users (pk) ON DELETE SET NULL,
	enabled_at   TEXT,
	created_at   TEXT,
	tags         TEXT NOT NULL,
	last_counter INTEGER NOT NULL
) STRICT;
INSERT INTO mfa_devices_new (serial, account, name, path, seed, user_pk, enabled_at, created_at, tags, last_counter)
	SELECT serial, account, name, path, seed, user_pk, enabled_at, created_at, tags, last_counter FROM mfa_devices;
DROP TABLE mfa_devices;
ALTER TABLE mfa_devices_new RENAME TO mfa_devices;
CREATE INDEX mfa_devices_user ON mfa_devices (user_pk);
CREATE INDEX mfa_devices_list ON mfa_devices (account, serial);
CREATE INDEX mfa_devices_assigned ON mfa_devices (account, serial) WHERE enabled_at IS NOT NULL;
CREATE INDEX mfa_devices_unassigned ON mfa_devices (account, serial) WHERE enabled_at IS NULL;
CREATE INDEX mfa_devices_root ON mfa_devices (account, serial) WHERE user_pk IS NULL AND enabled_at IS NOT NULL;
