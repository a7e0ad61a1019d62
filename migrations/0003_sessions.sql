-- Browser sessions of signed-in users. The cookie carries the session id (signed); only its
-- SHA-256 is stored here, so a leaked table cannot be replayed as cookies.
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY NOT NULL,
  subject TEXT NOT NULL,
  -- A public, random handle for the session (the `sid` claim, the completed request's sessionId).
  sid TEXT NOT NULL UNIQUE,
  auth_time INTEGER NOT NULL,
  amr TEXT NOT NULL DEFAULT '["pwd"]',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
