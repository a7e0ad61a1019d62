-- The administration console (issue 17): who is an administrator, when each admin session was
-- last active (the console's shorter idle timeout), and the audit trail of every change.

-- Users with the admin role. A table of its own, so the users table and every UserStore stay
-- as they are; removing a user's row here takes the role away.
CREATE TABLE admin_roles (
  sub TEXT PRIMARY KEY NOT NULL,
  granted_at INTEGER NOT NULL
);

-- The last console request of each admin session (sessions.sid), Unix seconds. A session idle
-- for longer than ADMIN_IDLE_TIMEOUT is ended on its next console request.
CREATE TABLE admin_session_activity (
  sid TEXT PRIMARY KEY NOT NULL,
  last_seen_at INTEGER NOT NULL
);

-- One row per change made through the console or its API: who (the admin's sub, or
-- "client:<client_id>" for an operator client), what (action and target), when. Never holds a
-- secret: a client secret, password or key is named, never copied.
CREATE TABLE admin_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_by_time ON admin_audit (at);

-- A client an operator disabled: it is refused at every endpoint until enabled again.
ALTER TABLE clients ADD COLUMN disabled_at INTEGER;
