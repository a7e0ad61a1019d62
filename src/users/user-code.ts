/**
 * The CIBA user_code (CIBA §7.1: "a secret code, such as a password or pin, that is known only
 * to the user"), stored with a keyed hash. A user_code is short, so a bare SHA-256 of it is
 * reversed by trying every code; an HMAC-SHA256 keyed with a secret derived from
 * DATA_ENCRYPTION_KEY (src/crypto/derived-keys.ts) cannot be tried without that key. The user's
 * `sub` is part of the message, so two users with the same code have different hashes.
 *
 * Stored form: `hmac-sha256$<base64url MAC>`. Rows written by edge-op before this form hold a
 * bare SHA-256 (64 hex digits); they are still accepted (`legacy`) and the caller rewrites them
 * in the keyed form on their first right use.
 *
 * Guessing is limited separately, per user and per client (src/ciba/user-code-attempts.ts).
 * Rotating DATA_ENCRYPTION_KEY invalidates every stored user_code: set them again.
 */
import { derivedSecret } from "../crypto/derived-keys";
import { base64url, fromBase64url, utf8 } from "../crypto/encoding";
import { digestsEqual, sha256Hex } from "../crypto/hash";

/**
 * The shortest user_code edge-op stores. With USER_CODE_MAX_FAILURES wrong codes per user per
 * USER_CODE_LOCKOUT (5 per 15 minutes by default), a 6-digit code takes years of guessing on
 * average.
 */
export const USER_CODE_MIN_LENGTH = 6;
export const USER_CODE_MAX_LENGTH = 64;

const PREFIX = "hmac-sha256$";
const LEGACY_SHA256 = /^[0-9a-f]{64}$/;

/** Why a code cannot be stored (too short, too long, not printable), or undefined if it can. */
export function userCodeProblem(code: string): string | undefined {
  const length = [...code].length;
  if (length < USER_CODE_MIN_LENGTH) return `user_code must have at least ${USER_CODE_MIN_LENGTH} characters`;
  if (length > USER_CODE_MAX_LENGTH) return `user_code may have at most ${USER_CODE_MAX_LENGTH} characters`;
  if (/[\p{C}]/u.test(code)) return "user_code must not contain control or invisible characters";
  return undefined;
}

/**
 * A memo of a pure function of the secret's text (importing or deriving a key is slow on every
 * request): the same secret always gives the same key, so it holds no provider's options and no
 * request's data, and two providers (realms) with different secrets get different entries.
 * Kept per isolate, like the key itself would be.
 */
const keys = new Map<string, Promise<CryptoKey>>();

function macKey(secret: string | undefined): Promise<CryptoKey> {
  const cacheKey = secret ?? "";
  let key = keys.get(cacheKey);
  if (!key) {
    key = derivedSecret(secret, "ciba user_code").then((derived) => {
      const raw = fromBase64url(derived);
      if (!raw) throw new Error("derived key is not base64url");
      return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    });
    // A failed derivation (no or bad key) must not be remembered: the next call says why again.
    key.catch(() => keys.delete(cacheKey));
    keys.set(cacheKey, key);
  }
  return key;
}

async function mac(secret: string | undefined, subject: string, code: string): Promise<string> {
  const signature = await crypto.subtle.sign("HMAC", await macKey(secret), utf8.encode(`${subject}\u0000${code}`));
  return base64url(new Uint8Array(signature));
}

/** The stored form of `code` for the user `subject`. */
export async function hashUserCode(secret: string | undefined, subject: string, code: string): Promise<string> {
  return `${PREFIX}${await mac(secret, subject, code)}`;
}

export type UserCodeMatch = "match" | "legacy" | "no_match";

/**
 * Compares a presented code with the stored form, in constant time. `legacy`: it matched a
 * bare SHA-256 from an older edge-op, which the caller should replace with `hashUserCode`.
 */
export async function matchUserCode(
  secret: string | undefined,
  subject: string,
  code: string,
  stored: string | undefined,
): Promise<UserCodeMatch> {
  if (stored?.startsWith(PREFIX)) {
    return digestsEqual(await hashUserCode(secret, subject, code), stored) ? "match" : "no_match";
  }
  if (stored !== undefined && LEGACY_SHA256.test(stored)) {
    return digestsEqual(await sha256Hex(code), stored) ? "legacy" : "no_match";
  }
  return "no_match";
}
