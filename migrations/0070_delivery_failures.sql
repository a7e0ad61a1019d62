-- Deliveries that failed for good (issue 19): a user notice, or a ping or push to a client, that
-- ended "failed" after its bounded retries. The request's own record says so too, but it is
-- deleted soon after the request ends; this row keeps the failure visible to the operator (the
-- console's "Failed deliveries" page) for 30 days. Written only when a delivery fails for good,
-- never on a flow's happy path; expired rows are deleted with each new one.
CREATE TABLE delivery_failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  failed_at INTEGER NOT NULL,
  -- 'user_notice' (the user's notification service), 'ping' or 'push' (the client's endpoint).
  kind TEXT NOT NULL,
  client_id TEXT NOT NULL,
  -- The user the request was for.
  subject TEXT NOT NULL,
  -- The request's internal id (never its auth_req_id, which is a bearer handle).
  request_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  -- Why, in a few words (never a token, an endpoint's query string or a response body).
  reason TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX delivery_failures_by_time ON delivery_failures (failed_at);
CREATE INDEX delivery_failures_by_expiry ON delivery_failures (expires_at);
