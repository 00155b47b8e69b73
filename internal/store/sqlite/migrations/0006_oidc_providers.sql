-- 0003_oidc_providers: IAM OpenID Connect identity providers. name is the
-- provider URL without https:// (the ARN suffix), compared exactly;
-- client_ids and thumbprints are JSON arrays of strings.

CREATE TABLE oidc_providers (
	account     TEXT NOT NULL,
	name        TEXT NOT NULL,
	client_ids  TEXT NOT NULL,
	thumbprints TEXT NOT NULL,
	tags        TEXT NOT NULL,
	created_at  TEXT,
	PRIMARY KEY (account, name)
) STRICT;
