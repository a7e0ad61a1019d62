/**
 * The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2, RFC 9126 §4).
 * Pipeline: resolveRequest (the client, then a pushed request or the query, then the redirect
 * URI) → checkPushedIfRequired → checkAuthorizationParameters → ensureSignedIn → ensureConsent
 * → respondWithCode.
 * Until the redirect URI is known to be the client's, errors are shown to the user; after
 * that they are sent to the client, with `state` and `iss` (RFC 9207).
 */
import type { Context, Hono } from "hono";
import { satisfiedAcr } from "../authn/acr";
import {
  type AuthorizationRequest,
  checkAuthorizationParameters,
  checkRedirectUri,
} from "../authorize/authorization-request";
import { issueCode } from "../authorize/codes";
import { ConsentStore } from "../authorize/consent-store";
import { type Client, clientScopes } from "../clients/metadata";
import type { Settings } from "../config";
import { sha256Hex } from "../crypto/hash";
import { OAuthError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { readForm } from "../http/form";
import { route } from "../http/route";
import { type FormParams, parseForm } from "../params/form-params";
import { PATHS } from "../routes";
import type { Session } from "../sessions/session-store";
import type { PushedAuthorizationRequest } from "../stores";
import { newGrantId } from "../tokens/grant";
import { currentSession } from "../ui/browser-session";
import { ConsentPage } from "../ui/consent-page";
import { csrfToken, validCsrf } from "../ui/csrf";
import { MessagePage } from "../ui/layout";
import { loginIsFreshFor, markLoginRequired } from "../ui/login-marker";
import { page, pageSecurityHeaders, render } from "../ui/page";
import { MAX_RETURN_TO_LENGTH } from "../ui/return-to";
import { REQUEST_URI_PREFIX } from "./par";

export function mountAuthorization(app: Hono<AppEnv>): void {
  app.use(PATHS.authorization, pageSecurityHeaders);
  // GET starts (and, after sign-in, resumes) a request; POST carries the consent decision.
  route(app, PATHS.authorization, { GET: page(authorize), POST: page(authorize) });
}

/** An error that must not be redirected: shown to the user (RFC 6749 §4.1.2.1). */
class ShownError extends OAuthError {}

interface Resolved {
  client: Client;
  params: FormParams;
  redirectUri: string;
  pushed?: PushedAuthorizationRequest;
}

/** RFC 9126 §5: server-wide or per client, only pushed requests are accepted. */
function checkPushedIfRequired(settings: Settings, resolved: Resolved): void {
  const required = settings.requirePushedAuthorizationRequests || resolved.client.require_pushed_authorization_requests;
  if (required && !resolved.pushed) {
    throw new OAuthError("invalid_request", "this client must use pushed authorization requests (/par)");
  }
}

async function authorize(c: Context<AppEnv>): Promise<Response> {
  const settings = c.var.ctx.settings;
  let resolved: Resolved;
  try {
    resolved = await resolveRequest(c, settings);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return showError(c, error);
  }
  const state = resolved.params.get("state");
  try {
    checkPushedIfRequired(settings, resolved);
    const request = checkAuthorizationParameters(resolved.client, resolved.params, resolved.redirectUri);
    const session = await ensureSignedIn(c, request);
    if (session instanceof Response) return session;
    const consent = await ensureConsent(c, resolved.client, request, session);
    if (consent instanceof Response) return consent;
    return await respondWithCode(c, settings, resolved, request, session);
  } catch (error) {
    if (error instanceof ShownError) return showError(c, error);
    if (!(error instanceof OAuthError)) throw error;
    // An error redirect is an authorization response too: it spends a pushed request.
    if (!(await spendPushed(c, resolved))) return showError(c, ALREADY_USED);
    return redirectToClient(c, settings, resolved.redirectUri, {
      error: error.code,
      error_description: error.description,
      state,
    });
  }
}

const ALREADY_USED = new ShownError("invalid_request_uri", "the request_uri was already used");

/**
 * RFC 9126 §4: a pushed request is spent by the authorization response it produces (a code or
 * an error), fenced so that it happens once anywhere. Visits before that (reloads, sign-in,
 * the consent page) do not spend it. True when there was nothing to spend or this call spent it.
 */
async function spendPushed(c: Context<AppEnv>, resolved: Resolved): Promise<boolean> {
  if (!resolved.pushed) return true;
  return c.var.ctx.stores.pushedRequests.consumeByHash(resolved.pushed);
}

/** The client, then the request's parameters: pushed (by reference) or in the query. */
async function resolveRequest(c: Context<AppEnv>, settings: Settings): Promise<Resolved> {
  const query = parseForm(new URL(c.req.url).search.slice(1), { multiValued: ["resource"] });
  const clientId = query.get("client_id");
  if (!clientId) throw new ShownError("invalid_request", "client_id is required");
  const client = clientId.length <= 128 ? await c.var.ctx.stores.clients.find(clientId) : undefined;
  if (!client) throw new ShownError("invalid_client", "unknown client");

  const requestUri = query.get("request_uri");
  if (requestUri !== undefined) return resolvePushed(c, settings, client, requestUri);

  const redirectUri = checkRedirectUri(client, query, { allowUnregisteredRedirectUri: false });
  return { client, params: query, redirectUri };
}

/**
 * RFC 9126 §4: only client_id and request_uri are read from the query; the pushed request is
 * the whole request. Unknown, expired, used or another client's → invalid_request_uri, shown to
 * the user (its redirect URI is inside the request we cannot trust).
 */
async function resolvePushed(c: Context<AppEnv>, settings: Settings, client: Client, requestUri: string) {
  const reference = requestUri.startsWith(REQUEST_URI_PREFIX) ? requestUri.slice(REQUEST_URI_PREFIX.length) : "";
  const pushed = /^[A-Za-z0-9_-]{43}$/.test(reference)
    ? await c.var.ctx.stores.pushedRequests.getByHash(await sha256Hex(reference))
    : undefined;
  if (!pushed || pushed.clientId !== client.client_id) {
    throw new ShownError("invalid_request_uri", "the request_uri is unknown, expired or already used");
  }
  const params = parseForm(pushed.parameters, { multiValued: ["resource"] });
  const redirectUri = checkRedirectUri(client, params, {
    allowUnregisteredRedirectUri: settings.parAllowUnregisteredRedirectUri,
  });
  return { client, params, redirectUri, pushed };
}

/** A live session that satisfies prompt and max_age, or the redirect that gets one. */
async function ensureSignedIn(c: Context<AppEnv>, request: AuthorizationRequest): Promise<Session | Response> {
  const session = await currentSession(c);
  const now = Math.floor(Date.now() / 1000);
  const tooOld = session !== undefined && request.maxAge !== undefined && now - session.authTime > request.maxAge;
  const forceLogin = request.prompt.includes("login") && !(session && (await loginIsFreshFor(c, session)));
  if (session && !tooOld && !forceLogin) return session;
  if (request.prompt.includes("none")) throw new OAuthError("login_required", "the user is not signed in");
  // The query as the URL parser serialized it: percent-encoded, no control characters. Sign-in
  // brings the browser back to it (ui/return-to.ts), up to a length: beyond that the user would
  // sign in and land elsewhere, so the client hears why now.
  const returnTo = `${c.var.ctx.routes.path("authorization")}${new URL(c.req.url).search}`;
  if (returnTo.length > MAX_RETURN_TO_LENGTH) {
    throw new OAuthError("invalid_request", "the authorization request is too long; push it to /par instead");
  }
  if (forceLogin) await markLoginRequired(c, now);
  const prompt = forceLogin || tooOld ? "&prompt=login" : "";
  return c.redirect(`${c.var.ctx.routes.path("signIn")}?return_to=${encodeURIComponent(returnTo)}${prompt}`, 303);
}

/**
 * Remembered consent covers the request unless prompt=consent; otherwise the consent page, or
 * (on POST) the user's decision, which is remembered when it is an approval.
 */
async function ensureConsent(
  c: Context<AppEnv>,
  client: Client,
  request: AuthorizationRequest,
  session: Session,
): Promise<undefined | Response> {
  const consents = new ConsentStore(c.var.ctx.env.DB);
  if (c.req.method === "POST") {
    const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
    if (!(await validCsrf(c, form.get("csrf")))) {
      throw new ShownError("invalid_request", "This form had expired. Go back, reload the page and try again.");
    }
    const decision = form.get("decision");
    if (decision === "deny") throw new OAuthError("access_denied", "the user denied the request");
    if (decision !== "approve") throw new ShownError("invalid_request", "choose Approve or Deny");
    await consents.grant(session.subject, client.client_id, request.scopes);
    return undefined;
  }
  const remembered = await consents.covers(session.subject, client.client_id, request.scopes);
  if (remembered && !request.prompt.includes("consent")) return undefined;
  if (request.prompt.includes("none"))
    throw new OAuthError("consent_required", "the user has not approved this client");
  const user = await c.var.ctx.stores.users.findBySubject(session.subject);
  return render(
    c,
    <ConsentPage
      clientName={client.client_name || client.client_id}
      scopes={request.scopes.filter((s) => clientScopes(client).includes(s))}
      action={`${c.var.ctx.routes.path("authorization")}${new URL(c.req.url).search}`}
      csrf={await csrfToken(c)}
      signedInAs={user?.name ?? user?.username ?? "you"}
    />,
  );
}

/** Spends a pushed request (fenced, so only once anywhere), then sends the code. */
async function respondWithCode(
  c: Context<AppEnv>,
  settings: Settings,
  resolved: Resolved,
  request: AuthorizationRequest,
  session: Session,
): Promise<Response> {
  if (!(await spendPushed(c, resolved))) throw ALREADY_USED;
  const code = await issueCode(c.var.ctx.env, {
    grant: {
      clientId: resolved.client.client_id,
      subject: session.subject,
      scopes: request.scopes,
      resources: request.resources,
      authTime: session.authTime,
      amr: session.amr,
      acr: satisfiedAcr(request.acrValues, session.amr),
      sid: session.sid,
      // Known to the code's object from the start, so a reuse can revoke the tokens it gave.
      grantId: newGrantId(),
    },
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce,
    expiresAt: Math.floor(Date.now() / 1000) + settings.authorizationCodeTtl,
  });
  return redirectToClient(c, settings, request.redirectUri, { code, state: request.state });
}

/** RFC 6749 §4.1.2 with RFC 9207 `iss`: parameters added to the redirect URI's query. */
function redirectToClient(
  c: Context<AppEnv>,
  settings: Settings,
  redirectUri: string,
  params: Record<string, string | undefined>,
): Response {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set("iss", settings.issuer);
  return c.redirect(url.toString(), 303);
}

async function showError(c: Context<AppEnv>, error: OAuthError): Promise<Response> {
  return render(
    c,
    <MessagePage
      title="This sign-in link does not work"
      message={`${error.description} (${error.code}). Go back to the application and start again.`}
    />,
    error.status === 401 ? 400 : error.status,
  );
}
