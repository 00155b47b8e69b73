-- 0006_ldap: LDAP / Active Directory identity providers (an OpenSTS
-- extension of IAM). Names are unique case-insensitively within an account,
-- as other IAM names. bind_password is sealed under the master key (aad: the
-- provider's ARN); it is never stored in the clear.

CREATE TABLE ldap_providers (
	account           TEXT NOT NULL,
	name              TEXT NOT NULL COLLATE ci,
	arn               TEXT NOT NULL,
	url               TEXT NOT NULL,
	start_tls         BOOLEAN NOT NULL,
	allow_insecure    BOOLEAN NOT NULL,
	ca_certificates   TEXT NOT NULL,
	bind_dn           TEXT NOT NULL,
	bind_password     BYTEA NOT NULL,
	user_search_base  TEXT NOT NULL,
	user_filter       TEXT NOT NULL,
	group_mode        TEXT NOT NULL,
	group_search_base TEXT NOT NULL,
	group_filter      TEXT NOT NULL,
	created_at        TIMESTAMPTZ,
	updated_at        TIMESTAMPTZ,
	PRIMARY KEY (account, name)
);
