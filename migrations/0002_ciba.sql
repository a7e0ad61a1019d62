-- CIBA: which pending backchannel requests belong to which user, so the user's side can list
-- them (the requests themselves live in one Durable Object each). Rows are removed when a
-- request is completed or deleted; expired rows are filtered out by expires_at and deleted by
-- the request's alarm.
CREATE TABLE backchannel_login_index (
  internal_id TEXT PRIMARY KEY NOT NULL,
  subject TEXT NOT NULL,
  client_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX backchannel_login_index_by_subject ON backchannel_login_index (subject, expires_at);

-- CIBA §7.1 user_code: a secret the user knows, sent by clients that registered
-- backchannel_user_code_parameter. Stored as SHA-256 (hex) only.
ALTER TABLE users ADD COLUMN user_code_hash TEXT;
