-- Passkey step-up for the administration console (issue 17): when an admin session confirmed
-- with a passkey (a WebAuthn assertion with user verification, bound to the console and this
-- session), Unix seconds. NULL: not yet. An admin who has a passkey and signed in with a
-- password gets no console page or session-authenticated API answer until it is set; a session
-- signed in with a passkey (amr "pop") and an admin without passkeys do not need it.
ALTER TABLE admin_session_activity ADD COLUMN passkey_at INTEGER;
