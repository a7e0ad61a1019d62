/**
 * Hashing, random handles and constant-time comparison, all from Web Crypto. Every one-time
 * handle (auth_req_id, request_uri reference, code, refresh token) and every client secret is
 * stored only as `sha256Hex(value)`: a stolen database yields nothing that can be replayed.
 */
import { base64url, utf8 } from "./encoding";

/** A handle with `bytes` bytes (default 32 = 256 bits) of CSPRNG output, base64url-encoded. */
export function randomHandle(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function sha256(data: string | Uint8Array): Promise<Uint8Array> {
  const input = typeof data === "string" ? utf8.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input));
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return [...(await sha256(data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Base64url(data: string | Uint8Array): Promise<string> {
  return base64url(await sha256(data));
}

/**
 * Compares two strings without an early exit, so the time taken does not reveal how many
 * leading characters matched. Inputs are hashed first so their lengths do not leak either.
 */
export async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Compares a digest just computed with a stored one (the same hash in the same encoding, so of
 * a fixed and public length) in constant time. Unlike `timingSafeEqual` it does not hash them
 * again: that guards strings whose length is secret, which a digest's is not, and costs two
 * more digests on every client authentication.
 */
export function digestsEqual(computed: string, stored: string): boolean {
  if (computed.length !== stored.length) return false;
  let diff = 0;
  for (let i = 0; i < computed.length; i++) diff |= computed.charCodeAt(i) ^ stored.charCodeAt(i);
  return diff === 0;
}
