-- RFC 8705 mutual-TLS client authentication: two more token_endpoint_auth_method values and the
-- registered certificate identity of tls_client_auth clients (exactly one of the five columns).
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt with every column
-- it has so far (0001, 0004, 0010) and the rows copied over.
CREATE TABLE clients_0011 (
  client_id TEXT PRIMARY KEY NOT NULL,
  client_name TEXT NOT NULL DEFAULT '',
  client_secret_hash TEXT,
  client_secret_encrypted TEXT,
  token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method IN
    ('client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt',
     'tls_client_auth', 'self_signed_tls_client_auth')),
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
  ciba_request_lifetime INTEGER,
  ciba_polling_interval INTEGER,
  created_at INTEGER NOT NULL,
  par_request_lifetime INTEGER,
  fapi_ciba INTEGER NOT NULL DEFAULT 0,
  tls_client_auth_subject_dn TEXT,
  tls_client_auth_san_dns TEXT,
  tls_client_auth_san_uri TEXT,
  tls_client_auth_san_ip TEXT,
  tls_client_auth_san_email TEXT
);

INSERT INTO clients_0011 (
  client_id, client_name, client_secret_hash, client_secret_encrypted, token_endpoint_auth_method,
  token_endpoint_auth_signing_alg, grant_types, redirect_uris, scope, jwks, jwks_uri,
  backchannel_token_delivery_mode, backchannel_client_notification_endpoint,
  backchannel_authentication_request_signing_alg, backchannel_user_code_parameter,
  require_pushed_authorization_requests, request_object_signing_alg, ciba_request_lifetime,
  ciba_polling_interval, created_at, par_request_lifetime, fapi_ciba
)
SELECT
  client_id, client_name, client_secret_hash, client_secret_encrypted, token_endpoint_auth_method,
  token_endpoint_auth_signing_alg, grant_types, redirect_uris, scope, jwks, jwks_uri,
  backchannel_token_delivery_mode, backchannel_client_notification_endpoint,
  backchannel_authentication_request_signing_alg, backchannel_user_code_parameter,
  require_pushed_authorization_requests, request_object_signing_alg, ciba_request_lifetime,
  ciba_polling_interval, created_at, par_request_lifetime, fapi_ciba
FROM clients;

DROP TABLE clients;
ALTER TABLE clients_0011 RENAME TO clients;
