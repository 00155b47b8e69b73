-- 0003_list_indexes: indexes that serve list pages (keyset pagination).
--
-- A page is "WHERE account = $1 AND lower(name) COLLATE "C" > $2 ORDER BY
-- lower(name) COLLATE "C" LIMIT $3": the expression indexes below serve it
-- (the UNIQUE (account, name) indexes of 0001 use the nondeterministic
-- collation ci, which has no order to scan). A path prefix is a range
-- "path COLLATE "C" >= $2 AND path COLLATE "C" < $3" in byte order, served by
-- the <table>_path indexes, which also hold the name key for the page's
-- condition; the planner picks between them and the name index by the
-- prefix's selectivity. Existing rows are indexed as the
-- indexes are built; no column needs a backfill.

CREATE INDEX users_list ON users (account, (lower(name)) COLLATE "C");
CREATE INDEX groups_list ON groups (account, (lower(name)) COLLATE "C");
CREATE INDEX roles_list ON roles (account, (lower(name)) COLLATE "C");
CREATE INDEX managed_policies_list ON managed_policies (account, (lower(name)) COLLATE "C");

CREATE INDEX users_path ON users (account, path COLLATE "C", (lower(name)) COLLATE "C");
CREATE INDEX groups_path ON groups (account, path COLLATE "C", (lower(name)) COLLATE "C");
CREATE INDEX roles_path ON roles (account, path COLLATE "C", (lower(name)) COLLATE "C");
CREATE INDEX managed_policies_path ON managed_policies (account, path COLLATE "C", (lower(name)) COLLATE "C");

-- ListPolicies reports how many users and roles have a policy as their
-- permissions boundary (compared case-insensitively), a page at a time.
CREATE INDEX users_boundary ON users (account, (lower(boundary)) COLLATE "C");
CREATE INDEX roles_boundary ON roles (account, (lower(boundary)) COLLATE "C");
