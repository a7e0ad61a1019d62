-- CIBA ping/push and profiles: the FAPI-CIBA switch, per client (1: the FAPI-CIBA rules of
-- docs/ciba.md apply: private_key_jwt, PS256/ES256/EdDSA, signed requests, binding_message, no
-- push). Numbered 0010 to stay clear of migrations being added in parallel.
ALTER TABLE clients ADD COLUMN fapi_ciba INTEGER NOT NULL DEFAULT 0;
