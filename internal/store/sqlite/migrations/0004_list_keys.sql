-- 0004_list_keys: the rest of the lists page from an index (keyset pagination).
--
-- Memberships and attachments keep their owner's list key (the name
-- lower-cased, store.NameKey), and attachments the owner's account, so that a
-- group's members and a policy's entities of one kind are a range of an index
-- in name order instead of a join sorted whole. The store writes them with
-- the row and rewrites them when the owner is renamed (a user has at most a
-- few memberships and attachments). Existing rows are backfilled here; IAM
-- names are ASCII, for which lower() folds as store.NameKey does.

ALTER TABLE group_members ADD COLUMN user_key TEXT NOT NULL DEFAULT '';
UPDATE group_members SET user_key = (SELECT lower(name) FROM users WHERE users.pk = group_members.user_pk);
CREATE INDEX group_members_list ON group_members (group_pk, user_key);

ALTER TABLE attachments ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN owner_key TEXT NOT NULL DEFAULT '';
UPDATE attachments SET
	account = coalesce((SELECT account FROM users WHERE pk = attachments.user_pk),
		(SELECT account FROM groups WHERE pk = attachments.group_pk),
		(SELECT account FROM roles WHERE pk = attachments.role_pk)),
	owner_key = lower(coalesce((SELECT name FROM users WHERE pk = attachments.user_pk),
		(SELECT name FROM groups WHERE pk = attachments.group_pk),
		(SELECT name FROM roles WHERE pk = attachments.role_pk)));
CREATE INDEX attachments_policy_users ON attachments (policy_pk, account, owner_key) WHERE user_pk IS NOT NULL;
CREATE INDEX attachments_policy_groups ON attachments (policy_pk, account, owner_key) WHERE group_pk IS NOT NULL;
CREATE INDEX attachments_policy_roles ON attachments (policy_pk, account, owner_key) WHERE role_pk IS NOT NULL;

-- The users and roles with a permissions boundary, a page at a time in name
-- order (ListEntitiesForPolicy); PolicyUsage counts on a prefix of them.
DROP INDEX users_boundary;
DROP INDEX roles_boundary;
CREATE INDEX users_boundary ON users (account, boundary COLLATE NOCASE, name);
CREATE INDEX roles_boundary ON roles (account, boundary COLLATE NOCASE, name);

-- Virtual MFA devices in serial number order (NOCASE, the column's), all of
-- them, the assigned or the unassigned ones; the root user's.
CREATE INDEX mfa_devices_list ON mfa_devices (account, serial);
CREATE INDEX mfa_devices_assigned ON mfa_devices (account, serial) WHERE enabled_at IS NOT NULL;
CREATE INDEX mfa_devices_unassigned ON mfa_devices (account, serial) WHERE enabled_at IS NULL;
CREATE INDEX mfa_devices_root ON mfa_devices (account, serial) WHERE user_pk IS NULL AND enabled_at IS NOT NULL;

-- Organizations: accounts by id (the primary key) and by e-mail address
-- (compared case-insensitively); policies by type and name; a target's
-- policies (a policy's targets are its primary key's range).
CREATE INDEX accounts_email ON accounts (email COLLATE NOCASE);
CREATE INDEX org_policies_list ON org_policies (type, name COLLATE NOCASE, name);
CREATE INDEX org_attachments_target ON org_attachments (target_id, policy_id);
