-- Client registry and users. Column names follow RFC 7591 / OpenID Connect client metadata.
-- JSON arrays are stored as TEXT; booleans as 0/1. See docs/storage-schema.md.

CREATE TABLE clients (
  client_id TEXT PRIMARY KEY NOT NULL,
  client_name TEXT NOT NULL DEFAULT '',
  -- SHA-256 (hex) of the client secret; NULL for clients that authenticate with keys.
  client_secret_hash TEXT,
  -- AES-256-GCM ciphertext of the secret, only for client_secret_jwt (HMAC needs the secret).
  client_secret_encrypted TEXT,
  token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method IN
    ('client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt')),
  token_endpoint_auth_signing_alg TEXT,
  grant_types TEXT NOT NULL DEFAULT '[]',
  redirect_uris TEXT NOT NULL DEFAULT '[]',
  scope TEXT NOT NULL DEFAULT 'openid',
  jwks TEXT,
  jwks_uri TEXT,
  backchannel_token_delivery_mode TEXT CHECK (backchannel_token_delivery_mode IN ('poll', 'ping', 'push')),
  backchannel_client_notification_endpoint TEXT,
  backchannel_authentication_request_signing_alg TEXT,
  backchannel_user_code_parameter INTEGER NOT NULL DEFAULT 0,
  require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0,
  request_object_signing_alg TEXT,
  -- edge-op extensions (seconds); NULL means the server-wide default.
  ciba_request_lifetime INTEGER,
  ciba_polling_interval INTEGER,
  created_at INTEGER NOT NULL
);

CREATE TABLE users (
  sub TEXT PRIMARY KEY NOT NULL,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  email TEXT UNIQUE COLLATE NOCASE,
  email_verified INTEGER NOT NULL DEFAULT 0,
  phone_number TEXT UNIQUE,
  phone_number_verified INTEGER NOT NULL DEFAULT 0,
  name TEXT,
  given_name TEXT,
  family_name TEXT,
  -- pbkdf2-sha256$<iterations>$<salt>$<hash>
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
