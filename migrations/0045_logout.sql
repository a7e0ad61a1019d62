-- OpenID RP-Initiated Logout 1.0 §3.1 and Back-Channel Logout 1.0 §2.2: the client metadata.
-- post_logout_redirect_uris: JSON array of the exact URIs a logout may return the browser to.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
-- The https (or, in development, loopback http) URL that receives logout tokens; NULL: none.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

-- Which grants were issued in which browser session (the `sid` of the ID token), so that
-- signing out can notify those clients (Back-Channel Logout §2.6) and revoke the tokens issued
-- in the session: every grant without offline_access has its refresh-token family (if any) and
-- its access tokens (revoked_grants) revoked. Nothing secret: ids only. A row is needed only
-- while the session or its tokens can live: `expires_at` is the issue time plus
-- REFRESH_TOKEN_TTL, and rows past it are pruned on the next sign-out.
CREATE TABLE session_grants (
  sid TEXT NOT NULL,
  subject TEXT NOT NULL,
  client_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  -- The refresh-token family started with the grant, if one was.
  family_id TEXT,
  -- 1 when the grant has offline_access: its refresh tokens outlive the session.
  offline_access INTEGER NOT NULL,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (sid, grant_id)
) WITHOUT ROWID;
CREATE INDEX session_grants_by_subject ON session_grants (subject, client_id);
CREATE INDEX session_grants_by_client ON session_grants (client_id);
CREATE INDEX session_grants_by_expiry ON session_grants (expires_at);
