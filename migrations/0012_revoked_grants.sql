-- Grants whose tokens must no longer be accepted: an authorization code was used twice, or a
-- rotated refresh token was presented again. Access tokens are JWTs that carry their grant's
-- random id (`grant_id`); this provider's own resource endpoints (/userinfo, the authenticator
-- API) look it up here. A row is needed only while a token of the grant can still be valid:
-- `expires_at` is the revocation time plus ACCESS_TOKEN_TTL, and later revocations prune
-- expired rows.
CREATE TABLE revoked_grants (
  grant_id TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('authorization_code_reuse', 'refresh_token_reuse'))
) WITHOUT ROWID;

CREATE INDEX revoked_grants_by_expiry ON revoked_grants (expires_at);
