-- 0004_list_keys: the rest of the lists page from an index (keyset pagination).
--
-- Memberships and attachments keep their owner's list key (the name
-- lower-cased, store.NameKey), and attachments the owner's account, so that a
-- group's members and a policy's entities of one kind are a range of an index
-- in name order instead of a join sorted whole. The store writes them with
-- the row and rewrites them when the owner is renamed (a user has at most a
-- few memberships and attachments). Existing rows are backfilled here. The
-- keys are compared in byte order (COLLATE "C"), as 0003's list indexes.

ALTER TABLE group_members ADD COLUMN user_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE group_members m SET user_key = lower(u.name) FROM users u WHERE u.pk = m.user_pk;
CREATE INDEX group_members_list ON group_members (group_pk, user_key);

ALTER TABLE attachments ADD COLUMN account TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN owner_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE attachments a SET
	account = coalesce(u.account, g.account, r.account),
	owner_key = lower(coalesce(u.name, g.name, r.name))
FROM attachments x
	LEFT JOIN users u ON u.pk = x.user_pk
	LEFT JOIN groups g ON g.pk = x.group_pk
	LEFT JOIN roles r ON r.pk = x.role_pk
WHERE x.pk = a.pk;
CREATE INDEX attachments_policy_users ON attachments (policy_pk, account, owner_key) WHERE user_pk IS NOT NULL;
CREATE INDEX attachments_policy_groups ON attachments (policy_pk, account, owner_key) WHERE group_pk IS NOT NULL;
CREATE INDEX attachments_policy_roles ON attachments (policy_pk, account, owner_key) WHERE role_pk IS NOT NULL;

-- The users and roles with a permissions boundary, a page at a time in name
-- order (ListEntitiesForPolicy); PolicyUsage counts on a prefix of them.
DROP INDEX users_boundary;
DROP INDEX roles_boundary;
CREATE INDEX users_boundary ON users (account, (lower(boundary)) COLLATE "C", (lower(name)) COLLATE "C");
CREATE INDEX roles_boundary ON roles (account, (lower(boundary)) COLLATE "C", (lower(name)) COLLATE "C");

-- Virtual MFA devices in serial number order, all of them, the assigned or
-- the unassigned ones; the root user's.
CREATE INDEX mfa_devices_list ON mfa_devices (account, (lower(serial)) COLLATE "C");
CREATE INDEX mfa_devices_assigned ON mfa_devices (account, (lower(serial)) COLLATE "C") WHERE enabled_at IS NOT NULL;
CREATE INDEX mfa_devices_unassigned ON mfa_devices (account, (lower(serial)) COLLATE "C") WHERE enabled_at IS NULL;
CREATE INDEX mfa_devices_root ON mfa_devices (account, (lower(serial)) COLLATE "C") WHERE user_pk IS NULL AND enabled_at IS NOT NULL;

-- Organizations: accounts by id in byte order and by e-mail address
-- (compared case-insensitively); policies by type and name; a policy's
-- targets and a target's policies in byte order.
CREATE INDEX accounts_list ON accounts (id COLLATE "C");
CREATE INDEX accounts_email ON accounts ((lower(email)) COLLATE "C");
CREATE INDEX org_policies_list ON org_policies (type, (lower(name)) COLLATE "C", name COLLATE "C");
CREATE INDEX org_attachments_policy ON org_attachments (policy_id COLLATE "C", target_id COLLATE "C");
CREATE INDEX org_attachments_target ON org_attachments (target_id COLLATE "C", policy_id COLLATE "C");
