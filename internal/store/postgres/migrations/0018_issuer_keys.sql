-- 0018_issuer_keys: the keys that sign the web identity tokens OpenSTS
-- issues (GetWebIdentityToken), kept apart from the session keyring.
CREATE TABLE issuer_keys (
	id           TEXT PRIMARY KEY,
	algorithm    TEXT NOT NULL,
	public       BYTEA,
	private      BYTEA,
	created_at   TIMESTAMPTZ,
	sign_until   TIMESTAMPTZ,
	verify_until TIMESTAMPTZ,
	revoked      BOOLEAN NOT NULL
);
