/**
 * The backchannel authentication endpoint (CIBA §7). Each step below is one rule of the spec;
 * reading the pipeline in `backchannelAuthenticationEndpoint` tells the protocol.
 */

import type { Context } from "hono";
import type { BackchannelAuthenticationRequest } from "../ciba/model";
import { type AuthenticationRequest, readAuthenticationRequest } from "../ciba/signed-request";
import { authenticateClient } from "../clients/authenticate";
import {
  type Client,
  DELIVERY_MODES,
  type DeliveryMode,
  GRANT_TYPES,
  notificationEndpointProblem,
} from "../clients/metadata";
import { checkClientMayHave, parseScope } from "../clients/scopes";
import type { Settings } from "../config";
import type { RequestContext, UserHint } from "../context";
import {
  AccessDenied,
  InvalidBindingMessage,
  InvalidRequest,
  InvalidScope,
  OAuthError,
  UnauthorizedClient,
} from "../errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readForm } from "../http/form";
import { logger } from "../log";
import type { FormParams } from "../params/form-params";
import { checkResources } from "../params/resource-indicators";
import { forStorage } from "../rar/schema";
import { endpointUrls } from "../routes";
import type { CreateOutcome } from "../stores";

/** RFC 6750 §2.1 b64token, the syntax of a client_notification_token (CIBA §7.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** FAPI-CIBA §5.2.2: a request may live at most 60 minutes. */
const FAPI_CIBA_MAX_LIFETIME = 3600;

export async function backchannelAuthenticationEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const { settings } = ctx;
  const form = await readForm(ctx.request, settings.maxRequestBodyBytes, { multiValued: ["resource"] });
  const client = await authenticateClient(ctx, form, endpointUrls(settings.issuer).backchannelAuthentication);
  const mode = checkCibaClient(client);
  // The client's rate limit and the user lookup are independent round trips: they run side by
  // side (issue 18), and a refusal by the limit still answers before anything the lookup says.
  // A signed request is verified, and its jti recorded, only once the client is within it.
  const clientLimit = withinClientRateLimit(ctx, client);
  if (form.get("request") !== undefined) await clientLimit;
  const checked = await refusedFirstBy(clientLimit, checkRequestAndUser(ctx, client, form));
  const { subject, requestedScopes, lifetime, acr, bindingMessage } = checked;
  const interval = client.ciba_polling_interval ?? settings.cibaPollingInterval;
  const outcome = await ctx.stores.backchannelRequests.createRequest(
    {
      lifetime,
      clientId: client.client_id,
      clientName: client.client_name || client.client_id,
      subject,
      requestedScopes,
      requestedResourceIndicators: checked.resources,
      authenticationContextReferenceClasses: acr.values,
      tenant: acr.tenant,
      idp: acr.idp,
      bindingMessage,
      ...(checked.authorizationDetails.length > 0
        ? {
            authorizationDetails: forStorage(checked.authorizationDetails),
            authorizationDetailsText: checked.authorizationDetails.map((detail) =>
              ctx.authorizationDetails.render(detail),
            ),
          }
        : {}),
      deliveryMode: mode,
      interval,
      ...checked.notification,
      ...(mode === "push" && client.certificateThumbprint
        ? { certificateThumbprint: client.certificateThumbprint }
        : {}),
    },
    { perUser: settings.cibaMaxPendingPerUser, perUserAndClient: settings.cibaMaxPendingPerUserAndClient },
    // Checked while the store lists the request in the user's object (one round trip fewer).
    () => withinUserRateLimit(ctx, subject),
  );
  const { authReqId, request: created } = checkPendingCap(outcome);
  logger.info("ciba_request_created", { client_id: client.client_id, internal_id: created.internalId });
  // CIBA §7.3: interval is for clients that poll; a push client never does.
  const body =
    mode === "push"
      ? { auth_req_id: authReqId, expires_in: lifetime }
      : { auth_req_id: authReqId, expires_in: lifetime, interval };
  return c.json(body, 200, { ...NO_STORE });
}

/**
 * CIBA §7.1's checks of the request's parameters, in the spec's order, then the user it names
 * (the seed's BackchannelAuthenticationUserValidator).
 */
async function checkRequestAndUser(ctx: RequestContext, client: Client, form: FormParams) {
  const { settings } = ctx;
  const request = await readAuthenticationRequest(ctx, client, form);
  checkFapiCibaProfile(client, request);
  const { params } = request;
  const requestedScopes = checkScope(params, client);
  const hint = checkExactlyOneHint(params);
  const bindingMessage = checkBindingMessage(params, settings);
  const lifetime = checkRequestedExpiry(params, client, settings);
  const notification = checkClientNotification(params, client, settings);
  const acr = parseAcrValues(params);
  const resources = checkResources(params);
  const authorizationDetails = checkAuthorizationDetails(ctx, client, params);
  const { subject } = await ctx.services.userValidator.validateRequest({
    ctx,
    client,
    hint,
    userCode: params.get("user_code"),
    bindingMessage,
    requestedScopes,
    acrValues: acr.values,
  });
  return {
    subject,
    requestedScopes,
    bindingMessage,
    lifetime,
    notification,
    acr,
    resources,
    authorizationDetails,
  };
}

/**
 * Waits for both; if `check` refused, that refusal is the answer, whatever `work` did (a rate
 * limit answers before the checks it guards, as when they ran one after the other).
 */
async function refusedFirstBy<T>(check: Promise<void>, work: Promise<T>): Promise<T> {
  const [checked, done] = await Promise.allSettled([check, work]);
  if (checked.status === "rejected") throw checked.reason;
  if (done.status === "rejected") throw done.reason;
  return done.value;
}

/**
 * RFC 6585 §4: a client sending faster than the CIBA_BY_CLIENT binding allows (wrangler.toml)
 * gets 429. The binding counts per location: it stops floods, it is not a global quota.
 */
async function withinClientRateLimit(ctx: RequestContext, client: Client): Promise<void> {
  const { success } = await ctx.env.CIBA_BY_CLIENT.limit({ key: client.client_id });
  if (!success) throw tooManyRequests("from this client", CIBA_BY_CLIENT_PERIOD);
}

/**
 * RFC 6585 §4: every request notifies its user, so requests for one user, from all clients
 * together, are limited too (CIBA_BY_USER): a client cannot flood a user with approval requests.
 */
async function withinUserRateLimit(ctx: RequestContext, subject: string): Promise<void> {
  const { success } = await ctx.env.CIBA_BY_USER.limit({ key: subject });
  if (!success) throw tooManyRequests("for this user", CIBA_BY_USER_PERIOD);
}

/** The periods of the CIBA_BY_CLIENT and CIBA_BY_USER bindings in wrangler.toml, in seconds. */
const CIBA_BY_CLIENT_PERIOD = 10;
const CIBA_BY_USER_PERIOD = 60;

/** CIBA §13 has no code for this; as at /par (RFC 9126 §2.3), invalid_request with 429. */
function tooManyRequests(whose: string, retryAfter: number): OAuthError {
  return new OAuthError("invalid_request", `too many backchannel authentication requests ${whose}; retry later`, 429, {
    "Retry-After": String(retryAfter),
  });
}

/**
 * CIBA §13 access_denied (403, "the OpenID Provider denied the request"): the user already has
 * CIBA_MAX_PENDING_PER_USER requests pending, or CIBA_MAX_PENDING_PER_USER_AND_CLIENT from this
 * client. Not a rate: it clears when the user answers or a request expires.
 */
function checkPendingCap(outcome: CreateOutcome): { authReqId: string; request: BackchannelAuthenticationRequest } {
  if (!outcome.created) {
    throw new AccessDenied(
      "the user has too many pending backchannel requests; try again once one is answered or has expired",
      403,
    );
  }
  return outcome;
}

/** CIBA §4 / checklist C14: only clients registered for the CIBA grant, in a mode we deliver. */
function checkCibaClient(client: Client): DeliveryMode {
  if (!client.grant_types.includes(GRANT_TYPES.ciba)) {
    throw new UnauthorizedClient("client is not registered for CIBA");
  }
  const mode = client.backchannel_token_delivery_mode;
  if (!mode || !DELIVERY_MODES.includes(mode)) throw new UnauthorizedClient("client has no token delivery mode");
  return mode;
}

/**
 * FAPI-CIBA §5.2.2 (checklist F2), for clients registered with the profile: no push, a signed
 * request, and a binding_message. (Its other rules are kept by registration and client
 * authentication: private_key_jwt with PS256 / ES256 / EdDSA, or mutual TLS; and by
 * checkRequestedExpiry.)
 */
function checkFapiCibaProfile(client: Client, request: AuthenticationRequest): void {
  if (!client.fapi_ciba) return;
  if (client.backchannel_token_delivery_mode === "push") {
    throw new UnauthorizedClient("FAPI-CIBA does not allow the push delivery mode");
  }
  if (!request.signed) throw new InvalidRequest("FAPI-CIBA clients must send signed authentication requests");
  if (request.params.get("binding_message") === undefined) {
    throw new InvalidRequest("FAPI-CIBA clients must send a binding_message");
  }
}

/** CIBA §7.1: scope is required and must contain openid; each scope must be the client's. */
function checkScope(form: FormParams, client: Client): string[] {
  const scopes = parseScope(form.get("scope"));
  if (!scopes.includes("openid")) throw new InvalidScope("scope must include openid");
  checkClientMayHave(client, scopes);
  return scopes;
}

/** CIBA §7.1: exactly one of login_hint_token, id_token_hint and login_hint. */
function checkExactlyOneHint(form: FormParams): UserHint {
  const hints: UserHint[] = [];
  for (const kind of ["login_hint_token", "id_token_hint", "login_hint"] as const) {
    const value = form.get(kind);
    if (value !== undefined) hints.push({ kind, value });
  }
  const [hint] = hints;
  if (hints.length !== 1 || !hint) {
    throw new InvalidRequest("send exactly one of login_hint_token, id_token_hint and login_hint");
  }
  return hint;
}

/** CIBA §7.1 / §13: a binding_message the user's device cannot show is invalid_binding_message. */
function checkBindingMessage(form: FormParams, settings: Settings): string | undefined {
  const message = form.get("binding_message");
  if (message === undefined) return undefined;
  if ([...message].length > settings.bindingMessageMaxLength) {
    throw new InvalidBindingMessage(`binding_message is longer than ${settings.bindingMessageMaxLength} characters`);
  }
  if (!settings.bindingMessagePattern.test(message)) {
    throw new InvalidBindingMessage("binding_message has characters that cannot be displayed");
  }
  return message;
}

/**
 * CIBA §7.1: requested_expiry is a positive integer, at most the client's request lifetime
 * (and, for FAPI-CIBA clients, at most 60 minutes).
 */
function checkRequestedExpiry(form: FormParams, client: Client, settings: Settings): number {
  const lifetime = client.ciba_request_lifetime ?? settings.cibaRequestLifetime;
  const maximum = client.fapi_ciba ? Math.min(lifetime, FAPI_CIBA_MAX_LIFETIME) : lifetime;
  const raw = form.get("requested_expiry");
  if (raw === undefined) return maximum;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new InvalidRequest("requested_expiry must be a positive integer");
  const requested = Number(raw);
  if (requested > maximum) throw new InvalidRequest(`requested_expiry may be at most ${maximum} seconds`);
  return requested;
}

/**
 * CIBA §7.1 (checklist C9, S3): a ping or push client sends the bearer token it wants on its
 * notifications, an RFC 6750 b64token of at most 1024 characters. Its endpoint is checked again
 * here, so a registry row edited by hand cannot send that token over plain http. Poll clients'
 * tokens are ignored.
 */
function checkClientNotification(
  form: FormParams,
  client: Client,
  settings: Settings,
): { clientNotificationToken?: string; clientNotificationEndpoint?: string } {
  if (client.backchannel_token_delivery_mode === "poll") return {};
  const token = form.get("client_notification_token");
  if (token === undefined) throw new InvalidRequest("ping and push clients must send client_notification_token");
  if (token.length > 1024) throw new InvalidRequest("client_notification_token is longer than 1024 characters");
  if (!B64TOKEN.test(token)) throw new InvalidRequest("client_notification_token must be an RFC 6750 b64token");
  const endpoint = client.backchannel_client_notification_endpoint ?? "";
  const problem = notificationEndpointProblem(endpoint, settings.allowHttpNotificationEndpoints);
  if (problem) throw new UnauthorizedClient(`the client's backchannel_client_notification_endpoint ${problem}`);
  return { clientNotificationToken: token, clientNotificationEndpoint: endpoint };
}

/** acr_values, with the `tenant:` and `idp:` values split out (as the seed's model does). */
function parseAcrValues(form: FormParams): { values: string[]; tenant?: string; idp?: string } {
  const result: { values: string[]; tenant?: string; idp?: string } = { values: [] };
  for (const value of new Set((form.get("acr_values") ?? "").split(" ").filter(Boolean))) {
    const [prefix, rest] = [value.slice(0, value.indexOf(":") + 1), value.slice(value.indexOf(":") + 1)];
    if ((prefix === "tenant:" || prefix === "idp:") && rest) {
      const key = prefix === "tenant:" ? "tenant" : "idp";
      if (result[key] !== undefined) throw new InvalidRequest(`acr_values names more than one ${key}`);
      result[key] = rest;
    } else {
      result.values.push(value);
    }
  }
  return result;
}

/**
 * RFC 9396 §2, §5: `authorization_details` of declared types, each conforming to its type, and
 * of the client's registered types (`authorization_details_types`, §10.2) when it has them.
 */
function checkAuthorizationDetails(ctx: RequestContext, client: Client, params: FormParams) {
  const allowedTypes = client.authorization_details_types;
  return ctx.authorizationDetails.parse(params.get("authorization_details"), allowedTypes ? { allowedTypes } : {});
}
