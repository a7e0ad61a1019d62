-- The user's recent answers to backchannel (CIBA) requests, for the account page (/account):
-- which client asked, what the user decided, which scopes were granted, the binding message
-- shown, and when. No handle or token: `internal_id` is the request's page id (the request itself
-- is gone once answered and delivered). Rows older than 30 days are pruned on each new answer.
CREATE TABLE ciba_decisions (
  internal_id TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  client_id TEXT NOT NULL,
  client_name TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approved', 'denied')),
  scopes TEXT NOT NULL,
  binding_message TEXT,
  decided_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ciba_decisions_by_subject ON ciba_decisions (subject, decided_at);
CREATE INDEX ciba_decisions_by_time ON ciba_decisions (decided_at);
