-- PAR: a per-client lifetime for pushed authorization requests (seconds, under 600; NULL: the
-- server default PAR_LIFETIME).
ALTER TABLE clients ADD COLUMN par_request_lifetime INTEGER;

-- Remembered consent: the scopes a user has approved for a client, so the consent page is not
-- shown again for the same (or fewer) scopes. prompt=consent asks again regardless.
CREATE TABLE consents (
  subject TEXT NOT NULL,
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (subject, client_id)
);
