/**
 * Secrets for local runs and tests: a fresh ES256 signing key (as a private JWK set) and a
 * 32-byte data encryption key. Production sets both with `wrangler secret put`.
 */
import { exportJWK, generateKeyPair } from "jose";

export interface DevSecrets {
  SIGNING_KEYS: string;
  DATA_ENCRYPTION_KEY: string;
}

export async function generateDevSecrets(alg = "ES256"): Promise<DevSecrets> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = `dev-${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`;
  const dataKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  return {
    SIGNING_KEYS: JSON.stringify({ keys: [{ ...jwk, kid, alg }] }),
    DATA_ENCRYPTION_KEY: dataKey,
  };
}
