/**
 * An access token is good only while the client it was issued to is registered and enabled.
 * RFC 7592 §2.3: deleting a client "SHOULD immediately invalidate all existing authorization
 * grants and currently-active tokens associated with this client". Removing a client revokes
 * the grants recorded in session_grants at once (src/logout/removal.ts); this check reaches the
 * tokens no row lists: a CIBA grant's (kept in each user's object since issue 18, which removal
 * cannot ask one by one) and a client_credentials token's (no grant at all, an operator client's
 * admin token included). It asks the client registry, which an isolate caches for
 * CLIENT_CACHE_SECONDS: no D1 read on a warm isolate, and a removal applies within that time.
 */
import type { RequestContext } from "../context";

export async function tokenClientRegistered(ctx: RequestContext, clientId: unknown): Promise<boolean> {
  return typeof clientId === "string" && (await ctx.stores.clients.find(clientId)) !== undefined;
}
