-- 0013_org_membership: Organizations membership beyond the hierarchy.
--
-- accounts gains where an account stands in the organization: standalone
-- (it left or was removed), how and when it last joined (NULL: created in
-- it, at created_at) and when CloseAccount closed it. Handshakes invite
-- standalone accounts of the deployment; at most one OPEN handshake per
-- target account (an expired one is marked EXPIRED before a new one).

ALTER TABLE accounts ADD COLUMN standalone INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN joined_method TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN joined_at TEXT;
ALTER TABLE accounts ADD COLUMN closed_at TEXT;

CREATE TABLE org_handshakes (
	id             TEXT PRIMARY KEY,
	org_id         TEXT NOT NULL,
	action         TEXT NOT NULL,
	state          TEXT NOT NULL,
	master         TEXT NOT NULL,
	target_type    TEXT NOT NULL,
	target         TEXT NOT NULL,
	target_account TEXT NOT NULL,
	notes          TEXT NOT NULL,
	tags           TEXT NOT NULL, -- JSON [{"Key":...,"Value":...}]
	requested_at   TEXT NOT NULL,
	expires_at     TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX org_handshakes_open ON org_handshakes (target_account) WHERE state = 'OPEN';
CREATE INDEX org_handshakes_org ON org_handshakes (org_id, id);

CREATE TABLE org_delegated_admins (
	account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	service_principal TEXT NOT NULL,
	delegated_at      TEXT NOT NULL,
	PRIMARY KEY (account_id, service_principal)
) STRICT, WITHOUT ROWID;

CREATE TABLE org_service_access (
	service_principal TEXT PRIMARY KEY,
	enabled_at        TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE org_account_failures (
	id           TEXT PRIMARY KEY,
	account_name TEXT NOT NULL,
	reason       TEXT NOT NULL,
	requested_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Failed requests were kept in settings named org.car.<request id>, as the
-- JSON of their status.
INSERT INTO org_account_failures (id, account_name, reason, requested_at)
	SELECT substr(key, 9), coalesce(json_extract(value, '$.AccountName'), ''), coalesce(json_extract(value, '$.FailureReason'), ''),
		strftime('%Y-%m-%dT%H:%M:%S.000000000Z', coalesce(json_extract(value, '$.RequestedTimestamp'), 0), 'unixepoch')
	FROM settings WHERE key LIKE 'org.car.%' AND json_valid(value);
DELETE FROM settings WHERE key LIKE 'org.car.%';
