-- RFC 7591 dynamic client registration and RFC 7592 client management (issue 15).
--
-- Initial access tokens (RFC 7591 §3): issued by the operator (`npm run admin --
-- registration-token create`), presented as a Bearer token at /register. Only the SHA-256 hex
-- of the token is stored; each can register clients until `expires_at` (epoch seconds), and
-- expired rows are pruned when the next token is created.
CREATE TABLE registration_tokens (
  token_hash TEXT PRIMARY KEY,
  label TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- RFC 7592 §3: the registration access token a dynamically registered client manages its
-- registration with at /register/<client_id>; only its SHA-256 hex, NULL for clients the
-- operator registered (they are managed with the admin tool, not through RFC 7592).
ALTER TABLE clients ADD COLUMN registration_access_token_hash TEXT;
