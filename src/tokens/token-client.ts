/**
 * An access token is good only while the client it was issued to is registered and enabled.
 * RFC 7592 §2.3: deleting a client "SHOULD immediately invalidate all existing authorization
 * grants and currently-active tokens associated with this client". Removing a client revokes
 * the grants recorded in session_grants at once (src/logout/removal.ts); this check reaches the
 * tokens no row lists: a CIBA grant's (kept in each user's object since issue 18, which removal
 * cannot ask one by one) and a client_credentials token's (no grant at all, an operator client's
 * admin token included). It asks the client registry, which an isolate caches for
 * CLIENT_CACHE_SECONDS: no D1 read on a warm isolate, and a removal applies within that time.
 *
 * A client removed and then registered again under the same id is another client: the tokens
 * issued before its `client_id_issued_at` were the old client's, and stay dead. Times are whole
 * seconds, so a token issued in the very second of the new registration would pass; removing
 * and re-adding a client takes an operator longer than that.
 */
import type { Client } from "../clients/metadata";
import type { RequestContext } from "../context";

export async function tokenClientRegistered(
  ctx: RequestContext,
  clientId: unknown,
  issuedAt: unknown,
): Promise<boolean> {
  if (typeof clientId !== "string") return false;
  const client = await ctx.stores.clients.find(clientId);
  return client !== undefined && !issuedBeforeClient(client, issuedAt);
}

/**
 * Whether something issued at `issuedAt` (epoch seconds) predates `client`'s registration, so
 * belongs to an earlier client with its id. False when the store does not say when the client
 * was registered; true for a missing or malformed time.
 */
export function issuedBeforeClient(client: Pick<Client, "client_id_issued_at">, issuedAt: unknown): boolean {
  if (client.client_id_issued_at === undefined) return false;
  return typeof issuedAt !== "number" || issuedAt < client.client_id_issued_at;
}
