-- Signing keys made in the administration console (issue 17, src/tokens/key-store.ts,
-- src/admin/keys.ts), besides those of the SIGNING_KEYS secret. See docs/storage-schema.md and
-- docs/admin-console.md ("Signing keys").
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY NOT NULL,            -- 128 random bits, base64url, "console-" prefix
  alg TEXT NOT NULL,                        -- ES256 | PS256 | EdDSA
  public_jwk TEXT NOT NULL,                 -- JSON: kid, alg, use and the key's public members
  -- AES-256-GCM (src/crypto/encryption.ts) of the private JWK under DATA_ENCRYPTION_KEY; additional
  -- data "edge-op signing-key <kid>", so a sealed key cannot be moved to another row.
  private_jwk_sealed TEXT NOT NULL,
  created_at INTEGER NOT NULL,              -- Unix seconds; published in /jwks from then
  signs_from INTEGER NOT NULL,              -- signs new tokens from then (after caches of /jwks refresh)
  retired_at INTEGER,                       -- stopped signing; NULL while it may sign
  remove_after INTEGER                      -- left out of /jwks after this; NULL while not retired
);
