-- 0017_issuer_keys: the keys that sign the web identity tokens OpenSTS
-- issues (GetWebIdentityToken), kept apart from the session keyring.
CREATE TABLE issuer_keys (
	id           TEXT PRIMARY KEY,
	algorithm    TEXT NOT NULL,
	public       BLOB,
	private      BLOB,
	created_at   TEXT,
	sign_until   TEXT,
	verify_until TEXT,
	revoked      INTEGER NOT NULL
) STRICT;
