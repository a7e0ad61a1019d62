-- RFC 7009 token revocation (issue 15).
--
-- 1. revoked_grants gains the reasons a client or a user can give: 'revocation' (a client
--    revoked one of the grant's tokens at /revoke), and, for the sign-out and account-page work
--    of the same issue, 'logout', 'withdrawn', 'client_removed' and 'user_removed'. SQLite
--    cannot change a CHECK constraint in place, so the table is rebuilt with its rows.
CREATE TABLE revoked_grants_new (
  grant_id TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN (
    'authorization_code_reuse', 'refresh_token_reuse', 'revocation', 'logout', 'withdrawn',
    'client_removed', 'user_removed'
  ))
) WITHOUT ROWID;
INSERT INTO revoked_grants_new (grant_id, revoked_at, expires_at, reason)
  SELECT grant_id, revoked_at, expires_at, reason FROM revoked_grants;
DROP TABLE revoked_grants;
ALTER TABLE revoked_grants_new RENAME TO revoked_grants;
CREATE INDEX revoked_grants_by_expiry ON revoked_grants (expires_at);

-- 2. Access tokens revoked one by one: those that belong to no user grant (client_credentials)
--    and so cannot be revoked through revoked_grants. Keyed by the token's `jti` (a random
--    128-bit id, not a secret: the token itself is never stored); a row is kept until the
--    token's own `exp`, after which the signature check refuses it anyway. Later revocations
--    prune expired rows.
CREATE TABLE revoked_access_tokens (
  jti TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);

-- 3. RFC 7662 §4: who may introspect what. A client may always introspect its own tokens; a
--    resource server's client also those whose `aud` names one of these resources (a JSON
--    array of absolute URIs, NULL for none), registered by the operator.
ALTER TABLE clients ADD COLUMN introspection_resources TEXT;
