/**
 * The user's account (issue 15): the clients the user has granted — remembered consents and
 * grants with live tokens (refresh-token families included), with scopes and dates — and
 * withdrawing one: its consent row goes, and every grant of the user to that client is revoked
 * (refresh-token families and, via revoked_grants reason "withdrawn", access tokens).
 */
import type { RequestContext } from "../context";
import { arrayOf, int, json, object, type Parser, readStored, str } from "../parse";
import { revokeGrants } from "./sign-out";

export interface GrantedClient {
  clientId: string;
  clientName: string;
  /** Every scope remembered or granted. */
  scopes: string[];
  /** When consent was remembered, if it was. */
  consentedAt?: number;
  /** Grants whose tokens may still be live, and how many carry a refresh-token family. */
  grants: number;
  refreshFamilies: number;
  /** The newest grant's issue time. */
  lastIssuedAt?: number;
}

interface ConsentRow {
  client_id: string;
  scopes: string[];
  granted_at: number;
}

const consentRow: Parser<ConsentRow> = object<ConsentRow>({
  client_id: str,
  scopes: json(arrayOf(str)),
  granted_at: int,
});

export async function grantedClients(ctx: RequestContext, subject: string): Promise<GrantedClient[]> {
  const { results } = await ctx.env.DB.prepare("SELECT client_id, scopes, granted_at FROM consents WHERE subject = ?")
    .bind(subject)
    .all();
  const byClient = new Map<string, GrantedClient>();
  const entry = (clientId: string): GrantedClient => {
    let found = byClient.get(clientId);
    if (!found) {
      found = { clientId, clientName: clientId, scopes: [], grants: 0, refreshFamilies: 0 };
      byClient.set(clientId, found);
    }
    return found;
  };
  for (const value of results) {
    const consent = readStored("consents", consentRow, value);
    if (!consent) continue;
    const client = entry(consent.client_id);
    client.consentedAt = consent.granted_at;
    client.scopes = [...new Set([...client.scopes, ...consent.scopes])];
  }
  for (const grant of await ctx.stores.sessionGrants.forSubject(subject)) {
    const client = entry(grant.clientId);
    client.grants++;
    if (grant.familyId) client.refreshFamilies++;
    client.lastIssuedAt = Math.max(client.lastIssuedAt ?? 0, grant.createdAt);
    client.scopes = [...new Set([...client.scopes, ...grant.scopes])];
  }
  const clients = [...byClient.values()];
  await Promise.all(
    clients.map(async (client) => {
      client.clientName = (await ctx.stores.clients.find(client.clientId))?.client_name || client.clientId;
    }),
  );
  return clients.sort((a, b) => a.clientName.localeCompare(b.clientName));
}

/** Withdraws everything `subject` granted `clientId`; false when there was nothing to withdraw. */
export async function withdrawClient(ctx: RequestContext, subject: string, clientId: string): Promise<boolean> {
  const grants = await ctx.stores.sessionGrants.forSubject(subject, clientId);
  await revokeGrants(ctx, grants, "withdrawn");
  await ctx.stores.sessionGrants.deleteGrants(
    grants.map((grant) => grant.grantId),
    subject,
  );
  const deleted = await ctx.env.DB.prepare(
    "DELETE FROM consents WHERE subject = ? AND client_id = ? RETURNING client_id",
  )
    .bind(subject, clientId)
    .all();
  return grants.length > 0 || deleted.results.length > 0;
}
