/**
 * Clients' `jwks_uri` documents (and the trusted login_hint_token issuers'), fetched and kept by
 * one provider: jose's remote key set for verifying (it refetches early when a token names an
 * unknown `kid`, and does not follow redirects), and the plain keys for comparing a
 * certificate's key. The provider owns one JwksCache (src/provider/runtime.ts) and hands it to
 * protocol code in the request context: nothing is kept at module level.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { isRecord } from "../parse";
import type { PublicJwk } from "./metadata";

const MAX_CACHED = 1000;

/** A JWK from a client's document: an object with a `kty` (other members are checked where used). */
function isPublicJwk(value: unknown): value is PublicJwk {
  return isRecord(value) && typeof value.kty === "string";
}

export class JwksCache {
  private readonly sets = new Map<string, JWTVerifyGetKey>();
  private readonly documents = new Map<string, { keys: PublicJwk[]; fetchedAt: number }>();

  /** A verifier's key set for `uri`, reused for `cacheSeconds` (JWKS_URI_CACHE_SECONDS). */
  remote(uri: string, cacheSeconds: number): JWTVerifyGetKey {
    const key = `${cacheSeconds}|${uri}`;
    let set = this.sets.get(key);
    if (!set) {
      if (this.sets.size >= MAX_CACHED) this.sets.clear();
      set = createRemoteJWKSet(new URL(uri), {
        cacheMaxAge: cacheSeconds * 1000,
        cooldownDuration: Math.min(30_000, cacheSeconds * 1000),
        timeoutDuration: 5000,
      });
      this.sets.set(key, set);
    }
    return set;
  }

  /**
   * The keys of a `jwks_uri` as plain JWKs (for comparing a certificate's key, where jose's
   * verifier is of no use). An unreachable or malformed document yields no keys, so
   * authentication fails rather than the request.
   */
  async keys(uri: string, cacheSeconds: number): Promise<PublicJwk[]> {
    const cached = this.documents.get(uri);
    if (cached && Date.now() - cached.fetchedAt < cacheSeconds * 1000) return cached.keys;
    try {
      const response = await fetch(uri, { redirect: "manual", signal: AbortSignal.timeout(5000) });
      const body: unknown = response.ok ? await response.json() : {};
      const keys = isRecord(body) && Array.isArray(body.keys) ? body.keys.filter(isPublicJwk) : [];
      if (this.documents.size >= MAX_CACHED) this.documents.clear();
      this.documents.set(uri, { keys, fetchedAt: Date.now() });
      return keys;
    } catch {
      return [];
    }
  }
}
