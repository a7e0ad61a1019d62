-- Certificate authorities and the client certificates they issue (issue 17, src/pki/, the
-- console's certificate pages). See docs/storage-schema.md.

-- CAs that issue client certificates. The private key is stored only encrypted.
CREATE TABLE certificate_authorities (
  id TEXT PRIMARY KEY NOT NULL,                 -- newPkiId(): 128 random bits, base64url
  name TEXT NOT NULL,                           -- the operator's label
  subject_dn TEXT NOT NULL,                     -- RFC 4514
  certificate_pem TEXT NOT NULL,
  -- AES-256-GCM (src/crypto/encryption.ts) of the PKCS#8 key under DATA_ENCRYPTION_KEY; additional
  -- data "edge-op pki ca-key <id> <x5t#S256 of the certificate>" (src/pki/store.ts).
  private_key_encrypted TEXT NOT NULL,
  key_algorithm TEXT NOT NULL,                  -- P-256 | P-384 | RSA-<bits>
  origin TEXT NOT NULL CHECK (origin IN ('created', 'imported')),
  not_before INTEGER NOT NULL,                  -- Unix seconds
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER                            -- no longer issues; NULL while active
);

-- Client certificates issued by those CAs. Their private keys are never stored.
CREATE TABLE client_certificates (
  id TEXT PRIMARY KEY NOT NULL,
  ca_id TEXT NOT NULL REFERENCES certificate_authorities (id),
  serial_number TEXT NOT NULL,                  -- hex, lower case
  subject_dn TEXT NOT NULL,                     -- RFC 4514, as a tls_client_auth client registers it
  certificate_pem TEXT NOT NULL,
  x5t_s256 TEXT NOT NULL UNIQUE,
  public_jwk TEXT NOT NULL,                     -- JSON, key members only
  key_algorithm TEXT NOT NULL,
  key_source TEXT NOT NULL CHECK (key_source IN ('generated', 'csr')),
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  client_id TEXT REFERENCES clients (client_id) ON DELETE SET NULL,
  revoked_at INTEGER,
  UNIQUE (ca_id, serial_number)
);
CREATE INDEX client_certificates_by_client ON client_certificates (client_id);
