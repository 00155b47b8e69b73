-- 0014_org_membership: Organizations membership beyond the hierarchy.
--
-- accounts gains where an account stands in the organization: standalone
-- (it left or was removed), how and when it last joined (NULL: created in
-- it, at created_at) and when CloseAccount closed it. Handshakes invite
-- standalone accounts of the deployment; at most one OPEN handshake per
-- target account (an expired one is marked EXPIRED before a new one).

ALTER TABLE accounts ADD COLUMN standalone BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN joined_method TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN joined_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN closed_at TIMESTAMPTZ;

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
	requested_at   TIMESTAMPTZ NOT NULL,
	expires_at     TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX org_handshakes_open ON org_handshakes (target_account) WHERE state = 'OPEN';
CREATE INDEX org_handshakes_org ON org_handshakes (org_id, id);

CREATE TABLE org_delegated_admins (
	account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	service_principal TEXT NOT NULL,
	delegated_at      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (account_id, service_principal)
);

CREATE TABLE org_service_access (
	service_principal TEXT PRIMARY KEY,
	enabled_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE org_account_failures (
	id           TEXT PRIMARY KEY,
	account_name TEXT NOT NULL,
	reason       TEXT NOT NULL,
	requested_at TIMESTAMPTZ NOT NULL
);

-- Failed requests were kept in settings named org.car.<request id>, as the
-- JSON of their status.
INSERT INTO org_account_failures (id, account_name, reason, requested_at)
	SELECT substr(key, 9), coalesce(value::jsonb->>'AccountName', ''), coalesce(value::jsonb->>'FailureReason', ''),
		to_timestamp(coalesce((value::jsonb->>'RequestedTimestamp')::double precision, 0))
	FROM settings WHERE key LIKE 'org.car.%';
DELETE FROM settings WHERE key LIKE 'org.car.%';
