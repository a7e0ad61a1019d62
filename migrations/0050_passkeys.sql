-- Passkeys (issue 16): WebAuthn credentials, public keys only. A sign-in without a username
-- looks a credential up by its id, so they live in D1, not in the user's Durable Object.
CREATE TABLE passkey_credentials (
  -- The credential id, base64url.
  id TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  -- JSON PasskeyCredential (src/webauthn/credential.ts): COSE public key, counter, transports,
  -- user handle, backup flags, AAGUID, label, times. Nothing secret.
  record TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX passkey_credentials_by_subject ON passkey_credentials (subject);

-- The WebAuthn user.id of each user who has made a passkey: random, made on first use, so the
-- authenticator never learns the subject.
CREATE TABLE passkey_user_handles (
  subject TEXT PRIMARY KEY,
  user_handle TEXT NOT NULL UNIQUE
);
