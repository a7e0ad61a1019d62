-- Issue 14: client metadata for DPoP, the FAPI 2.0 profile, rich authorization requests and JARM.
--   dpop_bound_access_tokens            RFC 9449 §5.2: the client always sends a DPoP proof at /token.
--   profile                             edge-op: NULL, or 'fapi2' (FAPI 2.0 Security Profile, docs/fapi.md).
--   authorization_details_types         RFC 9396 §10: JSON array of the types the client may request.
--   authorization_signed_response_alg   JARM §3: the alg of the client's signed authorization responses.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN profile TEXT CHECK (profile IS NULL OR profile IN ('fapi2'));
ALTER TABLE clients ADD COLUMN authorization_details_types TEXT;
ALTER TABLE clients ADD COLUMN authorization_signed_response_alg TEXT;
