/**
 * Clients' `jwks_uri` documents (and the trusted login_hint_token issuers'), fetched and kept by
 * one provider (src/provider/runtime.ts owns one JwksCache and hands it to protocol code in the
 * request context: nothing is kept at module level).
 *
 * One document cache serves both uses: a verifier's key set for JWTs, and the plain keys for
 * comparing a certificate's key. Redirects are not followed (as jose's remote key set does not).
 *
 * What a fetch can end in, and what is kept (issue 19, outages of what edge-op calls):
 * - the document answers (200 with a key set, or a 3xx/4xx, or a body that is no key set): that
 *   is the client's word, kept for JWKS_URI_CACHE_SECONDS, and it replaces the keys at once;
 * - the document is unavailable (network error, timeout, 5xx, 429): retried once after a short
 *   pause within a 5 s budget; if it is still unavailable, the last keys it answered with are used
 *   for up to JWKS_URI_STALE_SECONDS after they went stale, so a client's brief outage does not
 *   lock it out; beyond that (or with no earlier answer) there are no keys, so authentication
 *   fails with invalid_client, never a 5xx. Failures are not cached as answers: the next request
 *   tries again (after a cool-down, so a down endpoint is not hammered).
 *
 * Where it fetches from (checklist S3, as for notification endpoints): a client chose its
 * `jwks_uri`, so before every use the URL is held to the rule registration applies to it
 * (`notificationEndpointProblem`: https, and no IP-literal host in a loopback, private,
 * link-local or other non-public range; loopback only with ALLOW_HTTP_NOTIFICATION_ENDPOINTS;
 * LOGIN_HINT_TOKEN_ISSUERS' `jwks_uri`s too). A refused one (registered before the rule, or a row
 * edited by hand) is never fetched and nothing kept for it is used: it has no keys, so the
 * client's authentication fails with invalid_client.
 */
import { createLocalJWKSet, type JWTVerifyGetKey, errors as joseErrors } from "jose";
import { logger } from "../log";
import { isRecord } from "../parse";
import { notificationEndpointProblem, type PublicJwk } from "./metadata";

const MAX_CACHED = 1000;
/** The whole time a fetch (with its retry) may take, as before the retry existed. */
const FETCH_BUDGET_MS = 5000;
/** The pause before the one retry of an unavailable document. */
const RETRY_PAUSE_MS = 250;
/** A retry is not started with less time than this left in the budget. */
const MIN_ATTEMPT_MS = 1000;
/** After an unavailable fetch, or a refetch for an unknown kid, wait this long before the next. */
const COOL_DOWN_MS = 30_000;

/**
 * The settings the cache reads: how long documents are fresh, how long their keys may serve
 * stale while unavailable, and whether loopback documents may be fetched (development).
 */
export interface JwksSettings {
  jwksUriCacheSeconds: number;
  jwksUriStaleSeconds: number;
  allowHttpNotificationEndpoints: boolean;
}

interface Entry {
  keys: PublicJwk[];
  /** jose's key set over `keys` (it imports each key once). */
  verifier: JWTVerifyGetKey;
  /** When the document last answered. */
  answeredAt: number;
  /** When a fetch last ended, answered or not: the cool-down runs from here. */
  triedAt: number;
}

type Fetched = { kind: "answered"; keys: PublicJwk[] } | { kind: "unavailable" };

/** A JWK from a client's document: an object with a `kty` (other members are checked where used). */
function isPublicJwk(value: unknown): value is PublicJwk {
  return isRecord(value) && typeof value.kty === "string";
}

function entryOf(keys: PublicJwk[], now: number): Entry {
  return { keys, verifier: createLocalJWKSet({ keys }), answeredAt: now, triedAt: now };
}

/** The keys of a document that answered; a 3xx/4xx or a body that is no key set is "no keys". */
async function keysOf(response: Response): Promise<PublicJwk[]> {
  if (!response.ok) return [];
  const body: unknown = await response.json().catch(() => undefined);
  return isRecord(body) && Array.isArray(body.keys) ? body.keys.filter(isPublicJwk) : [];
}

async function fetchOnce(uri: string, timeoutMs: number): Promise<Fetched> {
  try {
    const response = await fetch(uri, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      return { kind: "unavailable" };
    }
    return { kind: "answered", keys: await keysOf(response) };
  } catch {
    return { kind: "unavailable" };
  }
}

/** One fetch and, if the document was unavailable and the budget allows, one retry. */
async function fetchDocument(uri: string): Promise<Fetched> {
  const deadline = Date.now() + FETCH_BUDGET_MS;
  const first = await fetchOnce(uri, FETCH_BUDGET_MS);
  if (first.kind === "answered" || deadline - Date.now() < RETRY_PAUSE_MS + MIN_ATTEMPT_MS) return first;
  await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
  return fetchOnce(uri, deadline - Date.now());
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  /** Fetches under way, so concurrent requests for one document share one fetch. */
  private readonly inFlight = new Map<string, Promise<Entry | undefined>>();

  /** A verifier's key set for `uri` (for jose's jwtVerify); an unknown `kid` refetches early. */
  remote(uri: string, settings: JwksSettings): JWTVerifyGetKey {
    return async (header, token) => {
      const entry = await this.entry(uri, settings);
      if (!entry) throw new joseErrors.JWKSNoMatchingKey();
      try {
        return await entry.verifier(header, token);
      } catch (error) {
        // The client may have rotated its keys since the document was fetched.
        if (!(error instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - entry.triedAt < COOL_DOWN_MS) throw error;
        const fresh = await this.refresh(uri, entry);
        if (!fresh || fresh === entry) throw error;
        return fresh.verifier(header, token);
      }
    };
  }

  /** The keys of a `jwks_uri` as plain JWKs (for comparing a certificate's key); [] if none. */
  async keys(uri: string, settings: JwksSettings): Promise<PublicJwk[]> {
    return (await this.entry(uri, settings))?.keys ?? [];
  }

  /** The document's entry: fresh, or fetched now, or stale within its allowance, or none. */
  private async entry(uri: string, settings: JwksSettings): Promise<Entry | undefined> {
    const refused = notificationEndpointProblem(uri, settings.allowHttpNotificationEndpoints);
    if (refused) {
      logger.warn("jwks_uri_refused", { reason: `not fetched: the jwks_uri ${refused}` });
      return undefined;
    }
    const kept = this.entries.get(uri);
    const now = Date.now();
    if (kept && now - kept.answeredAt < settings.jwksUriCacheSeconds * 1000) return kept;
    const usableStale = (entry: Entry | undefined) =>
      entry && Date.now() - entry.answeredAt < (settings.jwksUriCacheSeconds + settings.jwksUriStaleSeconds) * 1000
        ? entry
        : undefined;
    // Unavailable a moment ago: do not knock again until the cool-down has passed.
    if (
      kept &&
      kept.triedAt > kept.answeredAt &&
      now - kept.triedAt < Math.min(COOL_DOWN_MS, settings.jwksUriCacheSeconds * 1000)
    ) {
      return usableStale(kept);
    }
    const refreshed = await this.refresh(uri, kept);
    // A new entry is a document that answered just now; the kept one means it was unavailable.
    return refreshed !== kept ? refreshed : usableStale(kept);
  }

  /**
   * Fetches the document (once for all concurrent callers). Answered: a new entry. Unavailable:
   * the kept entry, marked as tried (its keys then serve only within the stale allowance).
   */
  private refresh(uri: string, kept: Entry | undefined): Promise<Entry | undefined> {
    const running = this.inFlight.get(uri);
    if (running) return running;
    const work = fetchDocument(uri)
      .then((fetched) => {
        const now = Date.now();
        if (fetched.kind === "unavailable") {
          // Remembered even with no earlier answer, so the cool-down applies to it too.
          const tried = kept ?? { ...entryOf([], now), answeredAt: 0 };
          tried.triedAt = now;
          this.entries.set(uri, tried);
          return kept;
        }
        if (this.entries.size >= MAX_CACHED) this.entries.clear();
        const entry = entryOf(fetched.keys, now);
        this.entries.set(uri, entry);
        return entry;
      })
      .finally(() => this.inFlight.delete(uri));
    this.inFlight.set(uri, work);
    return work;
  }
}
