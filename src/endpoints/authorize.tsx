/**
 * The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2, RFC 9126 §4) with
 * edge-op's sign-in and consent pages. Pipeline: resolveAuthorization (the client, then a pushed
 * request or the query, then the redirect URI) → checkPushedIfRequired →
 * checkAuthorizationParameters → ensureSignedIn → ensureConsent (with a passkey step-up for a
 * request that asks for `phr`) → respondWithCode (the
 * response itself is src/authorize/authorization.ts, shared with integrators' own pages).
 * Until the redirect URI is known to be the client's, errors are shown to the user; after
 * that they are sent to the client, with `state` and `iss` (RFC 9207).
 */
import type { Context, Hono } from "hono";
import { stepUpRequired } from "../authn/acr";
import {
  checkPushedIfRequired,
  type Resolved,
  resolveAuthorization,
  respondWithCode,
  respondWithError,
  ShownError,
} from "../authorize/authorization";
import { type AuthorizationRequest, checkAuthorizationParameters } from "../authorize/authorization-request";
import { type Client, clientScopes } from "../clients/metadata";
import { OAuthError, UnmetAuthenticationRequirements } from "../errors";
import type { AppEnv } from "../http/app-env";
import { readForm } from "../http/form";
import { route } from "../http/route";
import { PATHS } from "../routes";
import type { Session } from "../sessions/session-store";
import { currentSession } from "../ui/browser-session";
import { ConsentPage, type ConsentStepUp } from "../ui/consent-page";
import { csrfToken, validCsrf } from "../ui/csrf";
import { MessagePage } from "../ui/layout";
import { loginIsFreshFor, markLoginRequired } from "../ui/login-marker";
import { page, pageSecurityHeaders, render } from "../ui/page";
import { authorizationStepUpBinding, hasPasskeys, stepUpAmr } from "../ui/passkeys";
import { MAX_RETURN_TO_LENGTH } from "../ui/return-to";

/**
 * `interactionUrl`: with the built-in pages off (createProvider's `pages: false`), where the
 * browser goes to sign in and consent, on the integrator's own pages.
 */
export function mountAuthorization(app: Hono<AppEnv>, interactionUrl?: string): void {
  app.use(PATHS.authorization, pageSecurityHeaders);
  const handler = page((c) => authorize(c, interactionUrl));
  // GET starts (and, after sign-in, resumes) a request; POST carries the consent decision.
  route(app, PATHS.authorization, { GET: handler, POST: handler });
}

async function authorize(c: Context<AppEnv>, interactionUrl: string | undefined): Promise<Response> {
  const ctx = c.var.ctx;
  let resolved: Resolved;
  try {
    resolved = await resolveAuthorization(ctx, new URL(c.req.url).search.slice(1));
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return showError(c, error);
  }
  try {
    checkPushedIfRequired(ctx.settings, resolved);
    const request = checkAuthorizationParameters(
      resolved.client,
      resolved.params,
      resolved.redirectUri,
      ctx.authorizationDetails,
    );
    const session = await ensureSignedIn(c, request, interactionUrl);
    if (session instanceof Response) return session;
    const consent = await ensureConsent(c, resolved.client, request, session);
    if (consent instanceof Response) return consent;
    // A phr request is answered with the step-up's methods, not the session's sign-in (src/authn/acr.ts).
    const user = consent.stepUpAmr ? { ...session, amr: [...consent.stepUpAmr] } : session;
    return c.redirect(await respondWithCode(ctx, resolved, request, user), 303);
  } catch (error) {
    if (error instanceof ShownError) return showError(c, error);
    if (!(error instanceof OAuthError)) throw error;
    try {
      return c.redirect(await respondWithError(ctx, resolved, error), 303);
    } catch (spent) {
      if (spent instanceof ShownError) return showError(c, spent);
      throw spent;
    }
  }
}

/** A live session that satisfies prompt and max_age, or the redirect that gets one. */
async function ensureSignedIn(
  c: Context<AppEnv>,
  request: AuthorizationRequest,
  interactionUrl: string | undefined,
): Promise<Session | Response> {
  // With the integrator's own pages there is no edge-op session: they sign the user in.
  const session = interactionUrl ? undefined : await currentSession(c);
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
  if (interactionUrl) {
    const target = new URL(interactionUrl, c.var.ctx.settings.issuer);
    target.searchParams.set("return_to", returnTo);
    return c.redirect(target.toString(), 303);
  }
  if (forceLogin) await markLoginRequired(c, now);
  const prompt = forceLogin || tooOld ? "&prompt=login" : "";
  return c.redirect(`${c.var.ctx.routes.path("signIn")}?return_to=${encodeURIComponent(returnTo)}${prompt}`, 303);
}

/**
 * Remembered consent covers the request unless prompt=consent; otherwise the consent page, or
 * (on POST) the user's decision, which is remembered when it is an approval.
 *
 * EAP ACR Values §2 (issue 16): a request asking for `phr` is approved only with a passkey
 * assertion made on this consent page for this request (never a sign-in made earlier), so it
 * always shows the page, and its approval returns the step-up's amr. A user with no passkey is
 * told so and can go back: the client then gets unmet_authentication_requirements.
 */
async function ensureConsent(
  c: Context<AppEnv>,
  client: Client,
  request: AuthorizationRequest,
  session: Session,
): Promise<{ stepUpAmr?: readonly string[] } | Response> {
  const consents = c.var.ctx.stores.consents;
  const needsStepUp = stepUpRequired(request.acrValues);
  if (c.req.method === "POST") {
    const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
    if (!(await validCsrf(c, form.get("csrf")))) {
      throw new ShownError("invalid_request", "This form had expired. Go back, reload the page and try again.");
    }
    const decision = form.get("decision");
    if (decision === "deny") throw new OAuthError("access_denied", "the user denied the request");
    if (decision === "unmet" && needsStepUp) {
      throw new UnmetAuthenticationRequirements("the user has no passkey for the phishing-resistant (phr) approval");
    }
    if (decision !== "approve") throw new ShownError("invalid_request", "choose Approve or Deny");
    const stepUp = needsStepUp ? await stepUpOrRefusal(c, session, form.get("passkey_assertion")) : undefined;
    if (stepUp instanceof Response) return stepUp;
    await consents.grant(session.subject, client.client_id, request.scopes);
    return stepUp ? { stepUpAmr: stepUp } : {};
  }
  const remembered = await consents.covers(session.subject, client.client_id, request.scopes);
  // RFC 9396: remembered consent covers scopes, never a request's details (a payment is asked each time).
  const hasDetails = request.authorizationDetails.length > 0;
  if (remembered && !hasDetails && !needsStepUp && !request.prompt.includes("consent")) return {};
  if (request.prompt.includes("none")) {
    // OIDC Core §3.1.2.6: the step-up cannot happen without the user.
    if (needsStepUp) throw new OAuthError("interaction_required", "this request needs a passkey confirmation");
    throw new OAuthError("consent_required", "the user has not approved this client");
  }
  const user = await c.var.ctx.stores.users.findBySubject(session.subject);
  const query = new URL(c.req.url).search;
  let stepUp: ConsentStepUp | undefined;
  if (needsStepUp) {
    stepUp = (await hasPasskeys(c, session.subject))
      ? { options: `${c.var.ctx.routes.path("passkeyAuthorizeStepUpOptions")}${query}` }
      : { noPasskey: true };
  }
  return render(
    c,
    <ConsentPage
      clientName={client.client_name || client.client_id}
      scopes={request.scopes.filter((s) => clientScopes(client).includes(s))}
      details={request.authorizationDetails.map((detail) => c.var.ctx.authorizationDetails.render(detail))}
      action={`${c.var.ctx.routes.path("authorization")}${query}`}
      csrf={await csrfToken(c)}
      signedInAs={user?.name ?? user?.username ?? "you"}
      stepUp={stepUp}
    />,
  );
}

/**
 * The passkey assertion the consent form carries, verified for this request and session; a
 * refusal is a page (the request stays open, so the user can go back and use the passkey), not
 * an error sent to the client.
 */
async function stepUpOrRefusal(
  c: Context<AppEnv>,
  session: Session,
  assertion: string | undefined,
): Promise<readonly string[] | Response> {
  try {
    const binding = authorizationStepUpBinding(new URL(c.req.url).search, session);
    return await stepUpAmr(c, binding, session, assertion);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return render(
      c,
      <MessagePage
        title="Not approved"
        message={`This application asks you to confirm with your passkey (${error.description}). Go back and use Approve with passkey.`}
        link={{ href: `${c.var.ctx.routes.path("authorization")}${new URL(c.req.url).search}`, text: "Back" }}
      />,
      403,
    );
  }
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
