/**
 * A client's `jwks_uri`, fetched and cached per isolate by jose's remote key set (which also
 * refetches early when a token names an unknown `kid`, and does not follow redirects).
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";

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
