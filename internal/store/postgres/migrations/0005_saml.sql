-- 0003_saml: SAML identity providers and the assertion replay cache.
--
-- saml_providers keeps the metadata document as uploaded; names are unique
-- case-insensitively within an account (collation ci), as other IAM names.
-- saml_assertions holds one row per accepted assertion until it expires:
-- key is a hash of issuer and assertion id (never the assertion), expires_ms
-- Unix milliseconds.

CREATE TABLE saml_providers (
	account     TEXT NOT NULL,
	name        TEXT NOT NULL COLLATE ci,
	arn         TEXT NOT NULL,
	metadata    TEXT NOT NULL,
	created_at  TIMESTAMPTZ,
	valid_until TIMESTAMPTZ,
	tags        JSONB NOT NULL,
	PRIMARY KEY (account, name)
);

CREATE TABLE saml_assertions (
	key        BYTEA PRIMARY KEY,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX saml_assertions_expires ON saml_assertions (expires_ms);
