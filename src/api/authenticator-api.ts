/**
 * A JSON API over BackchannelAuthenticationInteractionService, for an authenticator app on
 * the user's phone (docs/authenticator-api.md):
 *   GET  /api/ciba/requests               pending requests of the user
 *   GET  /api/ciba/requests/{id}          one of them
 *   POST /api/ciba/requests/{id}/approve  {"scopes": [...], "description"?: "..."}
 *   POST /api/ciba/requests/{id}/deny
 * The caller is the user: a Bearer access token issued by this provider with the
 * `ciba:approve` scope (which no CIBA client can be given, so a kiosk cannot approve its own
 * requests), or the browser session cookie. With the cookie, POSTs must be `application/json`, which a
 * cross-site form cannot send, so a third-party page cannot approve on the user's behalf.
 */
import type { Context, Hono } from "hono";
import { BackchannelAuthenticationInteractionService, type CurrentUser } from "../ciba/interaction-service";
import { AUTHENTICATOR_SCOPE } from "../clients/metadata";
import type { BackchannelUserLoginRequest } from "../context";
import { BearerTokenRequired, InvalidRequest, OAuthError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readBodyText } from "../http/form";
import { route } from "../http/route";
import { ownEndpointAudiences } from "../params/resource-indicators";
import { isRecord } from "../parse";
import { endpointUrls, PATHS } from "../routes";
import { acceptPresentedAccessToken } from "../tokens/bearer";
import { currentSession } from "../ui/browser-session";

export function mountAuthenticatorApi(app: Hono<AppEnv>): void {
  route(app, PATHS.authenticatorRequests, { GET: listRequests });
  route(app, PATHS.authenticatorRequest, { GET: getRequest });
  route(app, PATHS.authenticatorApprove, { POST: (c) => answer(c, "approve") });
  route(app, PATHS.authenticatorDeny, { POST: (c) => answer(c, "deny") });
}

export interface Caller {
  user: CurrentUser;
  viaCookie: boolean;
}

/** The user calling: a `ciba:approve` Bearer token, or the browser session. */
export async function caller(c: Context<AppEnv>): Promise<Caller> {
  const authorization = c.req.header("authorization");
  if (authorization !== undefined) {
    const ctx = requestContext(c);
    // Bearer or DPoP (RFC 9449 §7.1); a DPoP-bound token needs a proof for this request.
    const { token } = await acceptPresentedAccessToken(ctx, {
      scope: AUTHENTICATOR_SCOPE,
      // The API's own resource identifier (RFC 8707): a token may name it, or the issuer, as its
      // audience; a token for any other resource is refused (src/params/resource-indicators.ts).
      audiences: ownEndpointAudiences(ctx.settings.issuer, endpointUrls(ctx.settings.issuer).authenticatorRequests),
    });
    const sid = typeof token.payload.sid === "string" ? token.payload.sid : undefined;
    const authTime = typeof token.payload.auth_time === "number" ? token.payload.auth_time : undefined;
    return { user: { subject: token.sub, sessionId: sid, authTime }, viaCookie: false };
  }
  const session = await currentSession(c);
  // No credentials of either kind: a bare Bearer challenge (RFC 6750 §3.1).
  if (!session) throw new BearerTokenRequired();
  return {
    user: { subject: session.subject, sessionId: session.sid, authTime: session.authTime, amr: session.amr },
    viaCookie: true,
  };
}

function present(request: BackchannelUserLoginRequest) {
  return {
    id: request.internalId,
    client_id: request.clientId,
    client_name: request.clientName,
    binding_message: request.bindingMessage ?? null,
    scopes: request.requestedScopes,
    // RFC 9396: the details (what the token will carry) and each as the sentence the page shows.
    authorization_details: request.authorizationDetails,
    authorization_details_text: request.authorizationDetailsText,
    acr_values: request.authenticationContextReferenceClasses,
    expires_at: request.expiresAt,
    approval_url: request.approvalUrl,
  };
}

async function listRequests(c: Context<AppEnv>) {
  const { user } = await caller(c);
  const requests = await new BackchannelAuthenticationInteractionService(
    c.var.ctx,
  ).getPendingLoginRequestsForCurrentUser(user);
  return c.json({ requests: requests.map(present) }, 200, { ...NO_STORE });
}

async function getRequest(c: Context<AppEnv>) {
  const { user } = await caller(c);
  const request = await new BackchannelAuthenticationInteractionService(c.var.ctx).getLoginRequestByInternalId(
    c.req.param("internalId") ?? "",
  );
  if (!request || request.subject !== user.subject) throw notFound();
  return c.json(present(request), 200, { ...NO_STORE });
}

function notFound(): OAuthError {
  return new OAuthError("not_found", "no such request for this user", 404);
}

const OUTCOME_ERRORS = {
  not_found: () => notFound(),
  wrong_user: () => notFound(),
  expired: () => new OAuthError("expired", "the request has expired", 410),
  already_completed: () => new OAuthError("already_completed", "the request was already answered", 409),
  scope_not_requested: () => new InvalidRequest("scopes must be among the requested ones"),
  // EAP ACR Values §2: only a passkey assertion on the approval page can approve a phr request.
  step_up_required: () =>
    new OAuthError("step_up_required", "this request asks for a passkey (acr phr): approve it on the /ciba page", 403),
} as const;

async function answer(c: Context<AppEnv>, action: "approve" | "deny") {
  const who = await caller(c);
  const body = await jsonBody(c, who.viaCookie);
  const requested = body.scopes;
  if (requested !== undefined && (!Array.isArray(requested) || requested.some((s) => typeof s !== "string"))) {
    throw new InvalidRequest("scopes must be an array of strings");
  }
  const description = body.description;
  if (description !== undefined && (typeof description !== "string" || description.length > 200)) {
    throw new InvalidRequest("description must be a string of at most 200 characters");
  }
  const outcome = await new BackchannelAuthenticationInteractionService(c.var.ctx).completeLoginRequest(
    {
      internalId: c.req.param("internalId") ?? "",
      scopesValuesConsented: action === "approve" ? ["openid", ...((requested as string[] | undefined) ?? [])] : [],
      description,
    },
    who.user,
  );
  if (!outcome.ok) throw OUTCOME_ERRORS[outcome.reason]();
  return c.json(
    { id: outcome.request.internalId, status: outcome.request.status, scopes: outcome.request.authorizedScopes ?? [] },
    200,
    { ...NO_STORE },
  );
}

/** A JSON object body. With cookie authentication it must be declared application/json (CSRF). */
export async function jsonBody(c: Context<AppEnv>, cookieAuthenticated: boolean): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  // Bearer callers may send an empty body without a content type; anything sent must be JSON.
  if (type !== "application/json" && (cookieAuthenticated || type !== undefined)) {
    throw new InvalidRequest("the body must be application/json");
  }
  const text = await readBodyText(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRequest("the body is not valid JSON");
  }
  if (!isRecord(parsed)) throw new InvalidRequest("the body must be a JSON object");
  return parsed;
}
