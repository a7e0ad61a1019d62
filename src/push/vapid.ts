/**
 * VAPID (RFC 8292): the application server identifies itself to push services with a P-256 key
 * pair. Browsers subscribe with the public key as `applicationServerKey`, and a push service
 * then accepts messages for that subscription only with a JWT signed by the private key.
 *
 * Stored form (two settings, both base64url without padding):
 *  - public key: the 65-octet uncompressed point (what `PushManager.subscribe` and the `k`
 *    parameter take, RFC 8292 §3.2), served at GET /api/push/vapid-key;
 *  - private key: the 32-octet scalar `d` only (a secret), completed into a JWK with the
 *    public point when imported. Shorter than a JWK or PKCS #8 in a secret store, and the
 *    import checks that the two halves belong together.
 */
import { base64url, fromBase64url, utf8 } from "../crypto/encoding";

export interface VapidKeys {
  /** base64url, 65-octet uncompressed P-256 point. */
  publicKey: string;
  /** base64url, 32-octet private scalar `d`. Secret. */
  privateKey: string;
}

export interface VapidCredentials extends VapidKeys {
  /** RFC 8292 §2.1 `sub`: a `mailto:` or `https:` URI where the push service can reach the operator. */
  subject: string;
}

export class InvalidVapidKeyError extends Error {
  override name = "InvalidVapidKeyError";
}

/** A fresh key pair (for `npm start` and `npm run admin -- keys vapid`). No side effects. */
export async function generateVapidKeys(): Promise<VapidKeys> {
  // Narrowed, not cast: the Workers and Node typings of Web Crypto differ (scripts/lib/vapid.ts).
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  if (!("privateKey" in pair)) throw new Error("the runtime generated no key pair");
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const d = "d" in jwk ? jwk.d : undefined;
  if (!(raw instanceof ArrayBuffer) || !d) throw new Error("the runtime exported no key");
  return { publicKey: base64url(new Uint8Array(raw)), privateKey: d };
}

/** The public key's x and y, or undefined unless it is a 65-octet uncompressed point. */
function coordinates(publicKey: string): { x: string; y: string } | undefined {
  const raw = fromBase64url(publicKey);
  if (raw?.length !== 65 || raw[0] !== 0x04) return undefined;
  return { x: base64url(raw.slice(1, 33)), y: base64url(raw.slice(33)) };
}

const imported = new Map<string, Promise<CryptoKey>>();

/**
 * The signing key, after checking both halves: the public key is a point on P-256, `d` is 32
 * octets, and a signature made with `d` verifies under the public key (Web Crypto does not
 * check that a JWK's `d` matches its `x`/`y`). Cached per key pair for the isolate's life.
 */
export function importVapidSigningKey(keys: VapidKeys): Promise<CryptoKey> {
  const cacheKey = `${keys.publicKey}.${keys.privateKey}`;
  let key = imported.get(cacheKey);
  if (!key) {
    key = importChecked(keys);
    imported.set(cacheKey, key);
    // A failed import is not cached: the settings may be fixed without a restart in tests.
    key.catch(() => imported.delete(cacheKey));
  }
  return key;
}

async function importChecked(keys: VapidKeys): Promise<CryptoKey> {
  const xy = coordinates(keys.publicKey);
  if (!xy) throw new InvalidVapidKeyError("the VAPID public key must be a base64url 65-octet uncompressed P-256 point");
  if (fromBase64url(keys.privateKey)?.length !== 32) {
    throw new InvalidVapidKeyError("the VAPID private key must be the base64url 32-octet scalar d");
  }
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", ...xy, d: keys.privateKey },
      algorithm,
      false,
      ["sign"],
    );
    publicKey = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", ...xy }, algorithm, false, ["verify"]);
  } catch {
    throw new InvalidVapidKeyError("the VAPID key pair is not a valid P-256 key");
  }
  const probe = utf8.encode("edge-op VAPID key check");
  const ecdsa = { name: "ECDSA", hash: "SHA-256" };
  const signature = await crypto.subtle.sign(ecdsa, privateKey, probe);
  if (!(await crypto.subtle.verify(ecdsa, publicKey, signature, probe))) {
    throw new InvalidVapidKeyError("the VAPID private key does not belong to the public key");
  }
  return privateKey;
}

/** RFC 8292 §2: `exp` no more than 24 hours ahead; 12 hours leaves room for clock skew. */
const TOKEN_LIFETIME = 12 * 60 * 60;

/** RFC 8292 §2.1: the contact must be a mailto: or https: URI. */
export function isVapidSubject(subject: string): boolean {
  return /^mailto:[^\s@]+@[^\s@]+$/.test(subject) || /^https:\/\/[^\s]+$/.test(subject);
}

/**
 * The `Authorization` header value for a message to `endpoint` (RFC 8292 §3):
 * `vapid t=<ES256 JWT {aud: endpoint origin, exp, sub}>, k=<public key>`.
 */
export async function vapidAuthorization(
  endpoint: URL,
  credentials: VapidCredentials,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  if (!isVapidSubject(credentials.subject)) {
    throw new InvalidVapidKeyError("the VAPID subject must be a mailto: or https: URI (RFC 8292 §2.1)");
  }
  const key = await importVapidSigningKey(credentials);
  const header = base64url(utf8.encode(JSON.stringify({ typ: "JWT", alg: "ES256" })));
  const claims = { aud: endpoint.origin, exp: now + TOKEN_LIFETIME, sub: credentials.subject };
  const signingInput = `${header}.${base64url(utf8.encode(JSON.stringify(claims)))}`;
  // Web Crypto's ECDSA signature is r || s, exactly JWS's ES256 form (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, utf8.encode(signingInput));
  return `vapid t=${signingInput}.${base64url(new Uint8Array(signature))}, k=${credentials.publicKey}`;
}
