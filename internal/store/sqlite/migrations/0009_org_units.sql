-- 0009_org_units: Organizations' organizational units, where accounts sit
-- in the hierarchy, and tags on Organizations resources.
--
-- parent_unit is the parent OU's id, NULL for the root (the root is a
-- setting, not a row). An account without a row in org_account_parents sits
-- in the root. The foreign keys keep an OU with children or accounts from
-- being deleted and an account from moving into an OU that is gone.

CREATE TABLE org_units (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	parent_unit TEXT REFERENCES org_units (id) ON DELETE RESTRICT,
	created_at  TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX org_units_name ON org_units (coalesce(parent_unit, ''), name);
CREATE INDEX org_units_parent ON org_units (parent_unit, id);

CREATE TABLE org_account_parents (
	account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	parent_unit TEXT NOT NULL REFERENCES org_units (id) ON DELETE RESTRICT
) STRICT, WITHOUT ROWID;

CREATE INDEX org_account_parents_unit ON org_account_parents (parent_unit, account_id);

-- Tags on accounts, OUs, the root and policies, by resource id.
CREATE TABLE org_tags (
	resource_id TEXT NOT NULL,
	key         TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (resource_id, key)
) STRICT, WITHOUT ROWID;
