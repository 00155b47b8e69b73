-- 0003_list_indexes: indexes that serve list pages (keyset pagination).
--
-- A page is "WHERE account = ? AND name > ? ORDER BY name LIMIT ?" on a
-- COLLATE NOCASE name: the UNIQUE (account, name) indexes of 0001 already
-- serve it. A path prefix is a range "path >= ? AND path < ?" in byte
-- (BINARY) order, served by the (account, path) indexes below.

CREATE INDEX users_path ON users (account, path);
CREATE INDEX groups_path ON groups (account, path);
CREATE INDEX roles_path ON roles (account, path);
CREATE INDEX managed_policies_path ON managed_policies (account, path);
