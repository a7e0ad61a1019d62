/**
 * The authorization response (RFC 6749 §4.1.2, OpenID Connect Core §3.1.2.5, RFC 9126 §4),
 * without HTTP or pages: resolving a request (the client, then a pushed request or the query,
 * then the redirect URI), and answering it with a code or an error at the redirect URI. The
 * authorization endpoint (src/endpoints/authorize.tsx, with edge-op's own sign-in and consent
 * pages) and the AuthorizationInteractionService (an integrator's own pages) both answer
 * through here.
 *
 * Until the redirect URI is known to be the client's, errors are shown to the user (ShownError,
 * RFC 6749 §4.1.2.1); after that they go to the client, with `state` and `iss` (RFC 9207).
 */
import { satisfiedAcr, unmetRequiredAcr } from "../authn/acr";
import { codeLifetimeFor, isFapi2 } from "../clients/fapi2";
import type { Client } from "../clients/metadata";
import type { Settings } from "../config";
import type { RequestContext } from "../context";
import { sha256Hex } from "../crypto/hash";
import { OAuthError, UnmetAuthenticationRequirements } from "../errors";
import { jarmRedirect, jarmResponseMode } from "../jarm/response";
import { type FormParams, parseForm } from "../params/form-params";
import { forStorage } from "../rar/schema";
import type { PushedAuthorizationRequest } from "../stores";
import { newGrantId } from "../tokens/grant";
import { loadKeys } from "../tokens/keys";
import { type AuthorizationRequest, checkRedirectUri } from "./authorization-request";
import { issueCode } from "./codes";

/** RFC 9126 §2.2: the request_uri a pushed request is given. */
export const REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:";

/** An error that must not be redirected: shown to the user (RFC 6749 §4.1.2.1). */
export class ShownError extends OAuthError {}

export const ALREADY_USED = new ShownError("invalid_request_uri", "the request_uri was already used");

export interface Resolved {
  client: Client;
  params: FormParams;
  redirectUri: string;
  pushed?: PushedAuthorizationRequest;
}

/** Who answered the request, and how they authenticated (a session, or the integrator's sign-in). */
export interface AuthenticatedUser {
  subject: string;
  /** Epoch seconds. */
  authTime: number;
  /**
   * RFC 8176 methods; the code's `acr` is the first requested class they meet. For a request
   * asking for `phr`, the methods of the passkey step-up made for this approval (not the
   * session's sign-in): without `pop` here no code is issued.
   */
  amr: string[];
  /** The session's public id, for `sid` in the ID token. */
  sid?: string;
}

/** The client, then the request's parameters: pushed (by reference) or in `query`. */
export async function resolveAuthorization(ctx: RequestContext, query: string): Promise<Resolved> {
  const params = parseForm(query, { multiValued: ["resource"] });
  const clientId = params.get("client_id");
  if (!clientId) throw new ShownError("invalid_request", "client_id is required");
  const client = clientId.length <= 128 ? await ctx.stores.clients.find(clientId) : undefined;
  if (!client) throw new ShownError("invalid_client", "unknown client");

  const requestUri = params.get("request_uri");
  if (requestUri !== undefined) return resolvePushed(ctx, client, requestUri);

  const redirectUri = checkRedirectUri(client, params, { allowUnregisteredRedirectUri: false });
  return { client, params, redirectUri };
}

/**
 * RFC 9126 §4: only client_id and request_uri are read from the query; the pushed request is
 * the whole request. Unknown, expired, used or another client's → invalid_request_uri, shown to
 * the user (its redirect URI is inside the request we cannot trust).
 */
async function resolvePushed(ctx: RequestContext, client: Client, requestUri: string): Promise<Resolved> {
  const reference = requestUri.startsWith(REQUEST_URI_PREFIX) ? requestUri.slice(REQUEST_URI_PREFIX.length) : "";
  const pushed = /^[A-Za-z0-9_-]{43}$/.test(reference)
    ? await ctx.stores.pushedRequests.getByHash(await sha256Hex(reference), client.client_id)
    : undefined;
  if (!pushed || pushed.clientId !== client.client_id) {
    throw new ShownError("invalid_request_uri", "the request_uri is unknown, expired or already used");
  }
  const params = parseForm(pushed.parameters, { multiValued: ["resource"] });
  const redirectUri = checkRedirectUri(client, params, {
    allowUnregisteredRedirectUri: ctx.settings.parAllowUnregisteredRedirectUri,
  });
  return { client, params, redirectUri, pushed };
}

/** RFC 9126 §5: server-wide or per client, only pushed requests are accepted. */
export function checkPushedIfRequired(settings: Settings, resolved: Resolved): void {
  const required =
    settings.requirePushedAuthorizationRequests ||
    resolved.client.require_pushed_authorization_requests ||
    // FAPI 2.0 §5.3.2.2: PAR is required of fapi2 clients.
    isFapi2(resolved.client) ||
    // FAPI 2.0 Message Signing §5.3.2: a client registered for signed requests sends them only
    // as request objects, and only /par takes those; a plain request here would skip the signature.
    Boolean(resolved.client.request_object_signing_alg);
  if (required && !resolved.pushed) {
    throw new OAuthError("invalid_request", "this client must use pushed authorization requests (/par)");
  }
}

/**
 * RFC 9126 §4: a pushed request is spent by the authorization response it produces (a code or
 * an error), fenced so that it happens once anywhere. Visits before that (reloads, sign-in,
 * the consent page) do not spend it. True when there was nothing to spend or this call spent it.
 */
async function spendPushed(ctx: RequestContext, resolved: Resolved): Promise<boolean> {
  if (!resolved.pushed) return true;
  return ctx.stores.pushedRequests.consumeByHash(resolved.pushed);
}

/** Spends a pushed request (fenced, so only once anywhere), then issues the code: where to send the browser. */
export async function respondWithCode(
  ctx: RequestContext,
  resolved: Resolved,
  request: AuthorizationRequest,
  user: AuthenticatedUser,
): Promise<string> {
  // EAP ACR Values §2 (issue 16): whatever page answered, a phr request gets a code only for an
  // authentication that met it. Checked before the pushed request is spent, so the page can
  // still ask for the step-up.
  const unmet = unmetRequiredAcr(request.acrValues, user.amr);
  if (unmet) throw new UnmetAuthenticationRequirements(`the approval did not meet acr ${unmet}`);
  const acr = acrToState(request, user.amr);
  if (!(await spendPushed(ctx, resolved))) throw ALREADY_USED;
  const code = await issueCode(ctx.env, {
    grant: {
      clientId: resolved.client.client_id,
      subject: user.subject,
      scopes: request.scopes,
      resources: request.resources,
      authTime: user.authTime,
      amr: user.amr,
      acr,
      sid: user.sid,
      // Known to the code's object from the start, so a reuse can revoke the tokens it gave.
      grantId: newGrantId(),
      // RFC 9396: approved with the request (the consent page showed each detail).
      ...(request.authorizationDetails.length > 0
        ? { authorizationDetails: forStorage(request.authorizationDetails) }
        : {}),
    },
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce,
    expiresAt: Math.floor(Date.now() / 1000) + codeLifetimeFor(resolved.client, ctx.settings.authorizationCodeTtl),
    ...(request.dpopJkt === undefined ? {} : { dpopJkt: request.dpopJkt }),
  });
  return responseUrl(ctx, resolved, request.redirectUri, { code, state: request.state });
}

/**
 * The code's `acr` (src/authn/acr.ts): the first requested class the authentication met, or
 * none, since acr_values is voluntary. An essential `acr` claim (OIDC Core §5.5.1.1) is not: the
 * value stated must be one of its values, and "if this is an Essential Claim and the requirement
 * cannot be met, then the Authorization Server MUST treat that outcome as a failed
 * authentication attempt" (unmet_authentication_requirements at the redirect URI).
 */
function acrToState(request: AuthorizationRequest, amr: readonly string[]): string | undefined {
  if (request.essentialAcr.length === 0) return satisfiedAcr(request.acrValues, amr);
  const acr = satisfiedAcr(request.essentialAcr, amr);
  if (acr === undefined) {
    throw new UnmetAuthenticationRequirements("the authentication did not meet an essential acr value");
  }
  return acr;
}

/**
 * An error that goes to the client: where to send the browser. An error response is an
 * authorization response too, so it spends a pushed request; if that was spent already, the
 * error is shown instead (ALREADY_USED is thrown).
 */
export async function respondWithError(ctx: RequestContext, resolved: Resolved, error: OAuthError): Promise<string> {
  if (!(await spendPushed(ctx, resolved))) throw ALREADY_USED;
  return responseUrl(ctx, resolved, resolved.redirectUri, {
    error: error.code,
    error_description: error.description,
    state: resolved.params.get("state"),
  });
}

/**
 * RFC 6749 §4.1.2 with RFC 9207 `iss`: parameters added to the redirect URI's query; or, for
 * `response_mode=jwt`/`query.jwt` or a client registered with `authorization_signed_response_alg`
 * (JARM §2.3.1, §3; FAPI 2.0 Message Signing §5.4), one `response` JWT signed with the
 * provider's key that holds them, `iss` and `aud` included.
 */
async function responseUrl(
  ctx: RequestContext,
  resolved: Resolved,
  redirectUri: string,
  params: Record<string, string | undefined>,
): Promise<string> {
  if (signedResponseWanted(resolved)) {
    const keys = await loadKeys(ctx);
    const input = { issuer: ctx.settings.issuer, clientId: resolved.client.client_id, params };
    return jarmRedirect(keys, resolved.client.authorization_signed_response_alg, redirectUri, input);
  }
  return plainResponseUrl(ctx.settings, redirectUri, params);
}

/** JARM §2.3: a signed response was asked for, or the client registered for them. */
function signedResponseWanted(resolved: Resolved): boolean {
  if (resolved.client.authorization_signed_response_alg !== undefined) return true;
  try {
    return jarmResponseMode(resolved.params.get("response_mode")) !== undefined;
  } catch {
    // An unsupported response_mode is itself the error being sent: in the plain mode.
    return false;
  }
}

function plainResponseUrl(settings: Settings, redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set("iss", settings.issuer);
  return url.toString();
}
