/**
 * User password hashing with PBKDF2-HMAC-SHA256 from Web Crypto. Stored form:
 * `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`. 100,000 iterations is the most the
 * Workers runtime allows for PBKDF2; the iteration count is stored so it can change later.
 */
import { base64url, fromBase64url, utf8 } from "./encoding";
import { digestsEqual } from "./hash";

const ITERATIONS = 100_000;
const PREFIX = "pbkdf2-sha256";

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", utf8.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, ITERATIONS);
  return `${PREFIX}$${ITERATIONS}$${base64url(salt)}$${base64url(hash)}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [prefix, iterationsText, saltText, hashText] = stored.split("$");
  const iterations = Number(iterationsText);
  const salt = saltText === undefined ? undefined : fromBase64url(saltText);
  if (prefix !== PREFIX || !Number.isInteger(iterations) || iterations > ITERATIONS || !salt || !hashText) {
    return false;
  }
  const hash = await derive(password, salt, iterations);
  return digestsEqual(base64url(hash), hashText);
}
