-- 0003_saml: SAML identity providers and the assertion replay cache.
--
-- saml_providers keeps the metadata document as uploaded; names are unique
-- case-insensitively within an account, as other IAM names.
-- saml_assertions holds one row per accepted assertion until it expires:
-- key is a hash of issuer and assertion id (never the assertion), expires_ms
-- Unix milliseconds.

CREATE TABLE saml_providers (
	account     TEXT NOT NULL,
	name        TEXT NOT NULL COLLATE NOCASE,
	arn         TEXT NOT NULL,
	metadata    TEXT NOT NULL,
	created_at  TEXT,
	valid_until TEXT,
	tags        TEXT NOT NULL,
	PRIMARY KEY (account, name)
) STRICT;

CREATE TABLE saml_assertions (
	key        BLOB PRIMARY KEY,
	expires_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX saml_assertions_expires ON saml_assertions (expires_ms);
