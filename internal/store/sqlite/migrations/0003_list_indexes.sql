-- 0003_list_indexes: indexes that serve list pages (keyset pagination).
--
-- A page is "WHERE account = ? AND name > ? ORDER BY name LIMIT ?" on a
-- COLLATE NOCASE name: the UNIQUE (account, name) indexes of 0001 already
-- serve it. A path prefix is a range "path >= ? AND path < ?" in byte
-- (BINARY) order, served by the <table>_path indexes below, which the list
-- queries name (INDEXED BY): SQLite has no statistics to tell a rare prefix
-- from a common one, and on the name index a rare prefix would walk the whole
-- account. The name in them lets the page's "name > ?" be checked in the
-- index.

CREATE INDEX users_path ON users (account, path, name);
CREATE INDEX groups_path ON groups (account, path, name);
CREATE INDEX roles_path ON roles (account, path, name);
CREATE INDEX managed_policies_path ON managed_policies (account, path, name);

-- ListPolicies reports how many users and roles have a policy as their
-- permissions boundary (compared case-insensitively), a page at a time.
CREATE INDEX users_boundary ON users (account, boundary COLLATE NOCASE);
CREATE INDEX roles_boundary ON roles (account, boundary COLLATE NOCASE);
