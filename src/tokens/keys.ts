/**
 * The provider's signing keys. They come from two places: the SIGNING_KEYS secret, a private JWK
 * set (locally `npm start` generates one into .dev.vars), and the keys an operator adds in the
 * administration console, stored sealed in D1 (src/tokens/key-store.ts, docs/admin-console.md).
 *
 * Which key signs: the newest stored key whose `signs_from` has passed and that is not retired;
 * while there is none, the secret's first key, as before the console had keys. What /jwks
 * publishes: every key of the secret, and every stored key from its creation until its
 * `remove_after` (a retired key stays until every token it signed has expired). A stored key is
 * published before it signs so that relying parties that cached /jwks see it first.
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

/** A key of the D1 table `signing_keys`, imported, with its schedule (Unix seconds). */
export interface StoredSigningKey extends SigningKey, KeySchedule {}

export interface KeySet {
  /** The key that signs new tokens. */
  active: SigningKey;
  /** Every key that may sign (the active one first): a JARM response picks one by its alg. */
  signers: SigningKey[];
  /** Every published key: tokens signed by any of them verify. */
  all: SigningKey[];
  /** The public JWK set served at /jwks. */
  jwks: { keys: JWK[] };
}

/** Where a provider's keys come from: its RequestContext has both (src/provider/runtime.ts). */
export interface KeySource {
  env: { SIGNING_KEYS?: string };
  stores: { signingKeys: { published(): Promise<StoredSigningKey[]> } };
}

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;
/**
 * A memo of a pure function of the secret's text (importing or deriving a key is slow on every
 * request): the same secret always gives the same key, so it holds no provider's options and no
 * request's data, and two providers (realms) with different secrets get different entries.
 * Kept per isolate, like the key itself would be.
 */
const cache = new Map<string, Promise<KeySet>>();

/**
 * The keys of a provider (a KeySource: the secret's and the stored ones), or of a SIGNING_KEYS
 * text alone (the secret's keys only, as tools and tests use it).
 */
export function loadKeys(source: KeySource | string | undefined): Promise<KeySet> {
  if (typeof source === "object") return providerKeys(source);
  return secretKeys(source);
}

function secretKeys(secret: string | undefined): Promise<KeySet> {
  if (!secret) throw new ConfigurationError("SIGNING_KEYS is not set (see docs/configuration.md)");
  let keys = cache.get(secret);
  if (!keys) {
    keys = importKeySet(secret);
    cache.set(secret, keys);
    keys.catch(() => cache.delete(secret));
  }
  return keys;
}

async function providerKeys(source: KeySource): Promise<KeySet> {
  const secret = source.env.SIGNING_KEYS;
  const [fromSecret, stored] = await Promise.all([
    secret ? secretKeys(secret) : undefined,
    source.stores.signingKeys.published(),
  ]);
  // Without stored keys the set is the secret's own (the same object on every call).
  if (stored.length === 0) {
    if (!fromSecret) throw new ConfigurationError("SIGNING_KEYS is not set (see docs/configuration.md)");
    return fromSecret;
  }
  return combine(fromSecret, stored, Math.floor(Date.now() / 1000));
}

/** When a stored key is published and may sign (Unix seconds), as D1 records it. */
export interface KeySchedule {
  kid: string;
  createdAt: number;
  signsFrom: number;
  retiredAt: number | undefined;
  removeAfter: number | undefined;
}

/**
 * The stored keys /jwks lists at `now`, and those that may sign, the one that signs first: the
 * newest whose `signs_from` has passed and that is not retired. A stored key with a kid of the
 * secret is left out (the secret's key wins). The console shows the same (src/admin/keys.ts).
 */
export function scheduleAt<T extends KeySchedule>(
  stored: T[],
  secretKids: Set<string>,
  now: number,
): { listed: T[]; signing: T[] } {
  const listed = stored.filter(
    (key) => !secretKids.has(key.kid) && (key.removeAfter === undefined || key.removeAfter > now),
  );
  const signing = listed
    .filter((key) => key.signsFrom <= now && key.retiredAt === undefined)
    .sort((a, b) => b.signsFrom - a.signsFrom || b.createdAt - a.createdAt);
  return { listed, signing };
}

/**
 * The key set at `now` (the cached stored keys carry their schedule, so a key starts or stops
 * signing, or leaves /jwks, on time without another D1 read).
 */
export function combine(fromSecret: KeySet | undefined, stored: StoredSigningKey[], now: number): KeySet {
  const { listed, signing } = scheduleAt(stored, new Set(fromSecret?.all.map((key) => key.kid)), now);
  const signers = [...signing, ...(fromSecret?.signers ?? [])];
  const [active] = signers;
  if (!active) {
    throw new ConfigurationError("no signing key: SIGNING_KEYS is not set and no stored key signs yet");
  }
  const all = [...(fromSecret?.all ?? []), ...listed];
  return { active, signers, all, jwks: { keys: all.map((key) => key.publicJwk) } };
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
  const all = await Promise.all(jwks.map((jwk: JWK) => importSigningKey(jwk, "SIGNING_KEYS")));
  const kids = new Set(all.map((k) => k.kid));
  if (kids.size !== all.length) throw new ConfigurationError("SIGNING_KEYS has two keys with the same kid");
  const [active] = all;
  if (!active) throw new ConfigurationError("SIGNING_KEYS is empty");
  // The secret's first key signs; the others may still sign a JARM response of their alg.
  return { active, signers: all, all, jwks: { keys: all.map((k) => k.publicJwk) } };
}

/** A private JWK with kid and alg, as SIGNING_KEYS holds it (or as a stored key is unsealed). */
export async function importSigningKey(jwk: JWK, from: string): Promise<SigningKey> {
  const { kid, alg } = jwk;
  if (!kid) throw new ConfigurationError(`every key in ${from} needs a kid`);
  if (!alg || !(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new ConfigurationError(`key ${kid}: alg must be one of ${SIGNING_ALGS.join(", ")}`);
  }
  if (!jwk.d) throw new ConfigurationError(`key ${kid}: a private key is needed to sign`);
  const publicJwk = publicJwkOf(jwk);
  const privateKey = (await importJWK(jwk, alg)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, alg)) as CryptoKey;
  return { kid, alg: alg as SigningAlg, privateKey, publicKey, publicJwk };
}

/** The members /jwks may show: never `d` or the other private members. */
export function publicJwkOf(jwk: JWK): JWK {
  const publicJwk: JWK = { kid: jwk.kid, alg: jwk.alg, use: "sig" };
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) publicJwk[member] = jwk[member];
  return publicJwk;
}
