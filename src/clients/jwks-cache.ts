/**
 * A client's `jwks_uri`, fetched and cached per isolate by jose's remote key set (which also
 * refetches early when a token names an unknown `kid`, and does not follow redirects).
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { isRecord } from "../parse";
import type { PublicJwk } from "./metadata";

const sets = new Map<string, JWTVerifyGetKey>();
const MAX_CACHED = 1000;

export function remoteJwks(uri: string, cacheSeconds: number): JWTVerifyGetKey {
  const key = `${cacheSeconds}|${uri}`;
  let set = sets.get(key);
  if (!set) {
    if (sets.size >= MAX_CACHED) sets.clear();
    set = createRemoteJWKSet(new URL(uri), {
      cacheMaxAge: cacheSeconds * 1000,
      cooldownDuration: Math.min(30_000, cacheSeconds * 1000),
      timeoutDuration: 5000,
    });
    sets.set(key, set);
  }
  return set;
}

/** A JWK from a client's document: an object with a `kty` (other members are checked where used). */
function isPublicJwk(value: unknown): value is PublicJwk {
  return isRecord(value) && typeof value.kty === "string";
}

const documents = new Map<string, { keys: PublicJwk[]; fetchedAt: number }>();

/**
 * The keys of a `jwks_uri` as plain JWKs (for comparing a certificate's key, where jose's
 * verifier is of no use), cached per isolate like the verifier. An unreachable or malformed
 * document yields no keys, so authentication fails rather than the request.
 */
export async function fetchJwks(uri: string, cacheSeconds: number): Promise<PublicJwk[]> {
  const cached = documents.get(uri);
  if (cached && Date.now() - cached.fetchedAt < cacheSeconds * 1000) return cached.keys;
  try {
    const response = await fetch(uri, { redirect: "manual", signal: AbortSignal.timeout(5000) });
    const body: unknown = response.ok ? await response.json() : {};
    const keys = isRecord(body) && Array.isArray(body.keys) ? body.keys.filter(isPublicJwk) : [];
    if (documents.size >= MAX_CACHED) documents.clear();
    documents.set(uri, { keys, fetchedAt: Date.now() });
    return keys;
  } catch {
    return [];
  }
}
