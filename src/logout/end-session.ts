/**
 * OpenID Connect RP-Initiated Logout 1.0 §2–§3: checking a logout request before anything is
 * ended. Each check is a small function named after its clause; a refusal is InvalidRequest,
 * shown as a page (never a redirect: the redirect URI is what could not be trusted).
 */
import { compactVerify, decodeProtectedHeader } from "jose";
import type { Client } from "../clients/metadata";
import type { RequestContext } from "../context";
import { InvalidRequest } from "../errors";
import { arrayOf, object, optional, type Parser, str } from "../parse";
import { loadKeys } from "../tokens/keys";

export interface EndSessionParams {
  id_token_hint?: string;
  client_id?: string;
  post_logout_redirect_uri?: string;
  state?: string;
}

/** What an ID token hint says, once its signature is known to be ours. */
export interface IdTokenHint {
  sub: string;
  sid?: string;
  aud: string[];
}

export interface CheckedEndSession {
  hint?: IdTokenHint;
  client?: Client;
  /** Where to send the browser afterwards (state included), if the RP asked and may. */
  redirectTo?: string;
  /** The parameters to carry through the confirmation page. */
  params: EndSessionParams;
}

export async function checkEndSessionRequest(
  ctx: RequestContext,
  params: EndSessionParams,
): Promise<CheckedEndSession> {
  const hint = params.id_token_hint ? await verifyIdTokenHint(ctx, params.id_token_hint) : undefined;
  const clientId = clientIdMatchesHint(params.client_id, hint);
  const client = clientId ? await knownClient(ctx, clientId) : undefined;
  const redirectTo = params.post_logout_redirect_uri
    ? registeredPostLogoutRedirect(client, params.post_logout_redirect_uri, params.state)
    : undefined;
  return { hint, client, redirectTo, params };
}

const hintClaims: Parser<{ iss: string; sub: string; sid?: string; aud: string | string[] }> = object({
  iss: str,
  sub: str,
  sid: optional(str),
  aud: (value, at) => (typeof value === "string" ? value : arrayOf(str)(value, at)),
});

/**
 * §2: id_token_hint is "an ID Token previously issued by the OP": its signature must verify
 * with one of this provider's keys and its iss must be this issuer. Its expiry does not matter
 * ("the OP … SHOULD accept ID Tokens … when the RP session … has expired").
 */
async function verifyIdTokenHint(ctx: RequestContext, token: string): Promise<IdTokenHint> {
  const refuse = () => new InvalidRequest("id_token_hint is not an ID token issued by this provider");
  const keys = await loadKeys(ctx);
  let payload: Uint8Array;
  try {
    // One of our keys, by kid, with its own algorithm only: never `none`, never an alg the hint picks.
    const header = decodeProtectedHeader(token);
    const key = keys.all.find((candidate) => candidate.kid === header.kid && candidate.alg === header.alg);
    if (!key) throw refuse();
    ({ payload } = await compactVerify(token, key.publicKey, { algorithms: [key.alg] }));
  } catch {
    throw refuse();
  }
  let claims: { iss: string; sub: string; sid?: string; aud: string | string[] };
  try {
    claims = hintClaims(JSON.parse(new TextDecoder().decode(payload)), "id_token_hint");
  } catch {
    throw refuse();
  }
  if (claims.iss !== ctx.settings.issuer) throw refuse();
  return { sub: claims.sub, sid: claims.sid, aud: typeof claims.aud === "string" ? [claims.aud] : claims.aud };
}

/**
 * §2: "When both client_id and id_token_hint are present, the OP MUST verify that the Client
 * Identifier matches the one used when issuing the ID Token." Without client_id the hint's
 * audience names the client.
 */
function clientIdMatchesHint(clientId: string | undefined, hint: IdTokenHint | undefined): string | undefined {
  if (clientId && hint && !hint.aud.includes(clientId)) {
    throw new InvalidRequest("client_id does not match the audience of id_token_hint");
  }
  return clientId ?? hint?.aud[0];
}

async function knownClient(ctx: RequestContext, clientId: string): Promise<Client> {
  const client = await ctx.stores.clients.find(clientId);
  if (!client) throw new InvalidRequest("client_id is not a registered client");
  return client;
}

/**
 * §3: post_logout_redirect_uri "MUST have been previously registered with the OP" (exact
 * match), so the client must be known, from client_id or id_token_hint. §2: state is passed
 * back to it.
 */
function registeredPostLogoutRedirect(client: Client | undefined, uri: string, state: string | undefined): string {
  if (!client) {
    throw new InvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint to name the client");
  }
  if (!(client.post_logout_redirect_uris ?? []).includes(uri)) {
    throw new InvalidRequest("post_logout_redirect_uri is not registered for this client");
  }
  if (state === undefined) return uri;
  const url = new URL(uri);
  url.searchParams.append("state", state);
  return url.toString();
}
