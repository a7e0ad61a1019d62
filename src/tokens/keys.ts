/**
 * The provider's signing keys. In production they come from the SIGNING_KEYS secret, a private
 * JWK set; locally `npm start` generates one into .dev.vars. The first key signs; every key is
 * published in /jwks, which is how rotation works: publish the next key (append it), wait for
 * caches to refresh, then move it to the front; drop the old key once its tokens have expired.
 */
import { type CryptoKey, importJWK, type JWK } from "jose";
import { ConfigurationError } from "../config";

export const SIGNING_ALGS = ["ES256", "PS256", "EdDSA", "RS256"] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface KeySet {
  /** The key that signs new tokens. */
  active: SigningKey;
  all: SigningKey[];
  /** The public JWK set served at /jwks. */
  jwks: { keys: JWK[] };
}

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;
/**
 * A memo of a pure function of the secret's text (importing or deriving a key is slow on every
 * request): the same secret always gives the same key, so it holds no provider's options and no
 * request's data, and two providers (realms) with different secrets get different entries.
 * Kept per isolate, like the key itself would be.
 */
const cache = new Map<string, Promise<KeySet>>();

export function loadKeys(secret: string | undefined): Promise<KeySet> {
  if (!secret) throw new ConfigurationError("SIGNING_KEYS is not set (see docs/configuration.md)");
  let keys = cache.get(secret);
  if (!keys) {
    keys = importKeySet(secret);
    cache.set(secret, keys);
    keys.catch(() => cache.delete(secret));
  }
  return keys;
}

async function importKeySet(secret: string): Promise<KeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw new ConfigurationError("SIGNING_KEYS is not JSON");
  }
  const jwks = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(jwks) || jwks.length === 0)
    throw new ConfigurationError("SIGNING_KEYS needs a non-empty keys array");
  const all = await Promise.all(jwks.map((jwk: JWK) => importSigningKey(jwk)));
  const kids = new Set(all.map((k) => k.kid));
  if (kids.size !== all.length) throw new ConfigurationError("SIGNING_KEYS has two keys with the same kid");
  const [active] = all;
  if (!active) throw new ConfigurationError("SIGNING_KEYS is empty");
  return { active, all, jwks: { keys: all.map((k) => k.publicJwk) } };
}

async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  const { kid, alg } = jwk;
  if (!kid) throw new ConfigurationError("every key in SIGNING_KEYS needs a kid");
  if (!alg || !(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new ConfigurationError(`key ${kid}: alg must be one of ${SIGNING_ALGS.join(", ")}`);
  }
  if (!jwk.d) throw new ConfigurationError(`key ${kid}: a private key is needed to sign`);
  const publicJwk: JWK = { kid, alg, use: "sig" };
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) publicJwk[member] = jwk[member];
  const privateKey = (await importJWK(jwk, alg)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, alg)) as CryptoKey;
  return { kid, alg: alg as SigningAlg, privateKey, publicKey, publicJwk };
}
