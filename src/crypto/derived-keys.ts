/**
 * Keys derived from DATA_ENCRYPTION_KEY with HKDF-SHA256, one per purpose (cookie signing,
 * CSRF), so one secret serves several uses without any two sharing a key.
 */
import { ConfigurationError } from "../config";
import { base64url, fromBase64url, utf8 } from "./encoding";

/**
 * A memo of a pure function of the secret's text (importing or deriving a key is slow on every
 * request): the same secret always gives the same key, so it holds no provider's options and no
 * request's data, and two providers (realms) with different secrets get different entries.
 * Kept per isolate, like the key itself would be.
 */
const cache = new Map<string, Promise<string>>();

/** A 256-bit key for `purpose`, base64url (the form Hono's signed cookies take). */
export function derivedSecret(secret: string | undefined, purpose: string): Promise<string> {
  if (!secret) throw new ConfigurationError("DATA_ENCRYPTION_KEY is not set");
  const cacheKey = `${purpose}\u0000${secret}`;
  let derived = cache.get(cacheKey);
  if (!derived) {
    derived = derive(secret, purpose);
    cache.set(cacheKey, derived);
  }
  return derived;
}

async function derive(secret: string, purpose: string): Promise<string> {
  const raw = fromBase64url(secret);
  if (!raw) throw new ConfigurationError("DATA_ENCRYPTION_KEY must be base64url");
  const key = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: utf8.encode(`edge-op ${purpose}`) },
    key,
    256,
  );
  return base64url(new Uint8Array(bits));
}
