/**
 * Token hashes carried in an ID token: `at_hash` (OpenID Connect Core §3.3.2.11) and CIBA's
 * `urn:openid:params:jwt:claim:rt_hash` (CIBA §10.3.1). Each is the base64url encoding of the
 * left-most half of the hash of the token's ASCII octets, with the hash of the ID token's JWS
 * `alg`: SHA-256 for ES256, PS256 and RS256; SHA-512 for EdDSA, which edge-op signs with Ed25519
 * (the OpenID Connect working group's reading for Ed25519, as other providers do).
 */
import { base64url, utf8 } from "../crypto/encoding";
import type { SigningAlg } from "./keys";

const HASH_FOR_ALG: Record<SigningAlg, "SHA-256" | "SHA-512"> = {
  ES256: "SHA-256",
  PS256: "SHA-256",
  RS256: "SHA-256",
  EdDSA: "SHA-512",
};

export async function tokenHash(token: string, alg: SigningAlg): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest(HASH_FOR_ALG[alg], utf8.encode(token)));
  return base64url(digest.slice(0, digest.length / 2));
}
