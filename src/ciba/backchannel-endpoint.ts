/**
 * The backchannel authentication endpoint (CIBA §7). Each step below is one rule of the spec;
 * reading the pipeline in `backchannelAuthenticationEndpoint` tells the protocol.
 */
import type { Context } from "hono";
import { authenticateClient } from "../clients/authenticate";
import { type Client, clientScopes, GRANT_TYPES } from "../clients/metadata";
import { endpoints, type Settings } from "../config";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { InvalidBindingMessage, InvalidRequest, InvalidScope, UnauthorizedClient } from "../http/errors";
import { type FormParams, readForm } from "../http/form";
import { checkResources } from "../http/resource-indicators";
import { BackchannelAuthenticationRequestStore } from "./request-store";
import { cibaServices } from "./services";
import type { UserHint } from "./user-validator";

export async function backchannelAuthenticationEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const { settings } = ctx;
  const form = await readForm(ctx.request, settings.maxRequestBodyBytes, { multiValued: ["resource"] });
  const client = await authenticateClient(ctx, form, endpoints(settings).backchannelAuthentication);
  checkCibaClient(client);
  rejectRequestObject(form);
  const requestedScopes = checkScope(form, client);
  const hint = checkExactlyOneHint(form);
  const bindingMessage = checkBindingMessage(form, settings);
  const lifetime = checkRequestedExpiry(form, client, settings);
  const acr = parseAcrValues(form);
  const resources = checkResources(form);
  const { subject } = await cibaServices().userValidator.validateRequest({
    ctx,
    client,
    hint,
    userCode: form.get("user_code"),
    bindingMessage,
    requestedScopes,
    acrValues: acr.values,
  });
  const interval = client.ciba_polling_interval ?? settings.cibaPollingInterval;
  const { authReqId, request } = await new BackchannelAuthenticationRequestStore(ctx.env).createRequest({
    lifetime,
    clientId: client.client_id,
    clientName: client.client_name || client.client_id,
    subject,
    requestedScopes,
    requestedResourceIndicators: resources,
    authenticationContextReferenceClasses: acr.values,
    tenant: acr.tenant,
    idp: acr.idp,
    bindingMessage,
    deliveryMode: "poll",
    interval,
  });
  console.log(
    JSON.stringify({ event: "ciba_request_created", client_id: client.client_id, internal_id: request.internalId }),
  );
  return c.json({ auth_req_id: authReqId, expires_in: lifetime, interval }, 200, { ...NO_STORE });
}

/** CIBA §4 / checklist C14: only clients registered for the CIBA grant, in a mode we deliver. */
function checkCibaClient(client: Client): void {
  if (!client.grant_types.includes(GRANT_TYPES.ciba)) {
    throw new UnauthorizedClient("client is not registered for CIBA");
  }
  if (client.backchannel_token_delivery_mode !== "poll") {
    throw new UnauthorizedClient("only the poll delivery mode is supported so far");
  }
}

/** CIBA §7.1.1: discovery lists no request signing algorithms, so signed requests are refused. */
function rejectRequestObject(form: FormParams): void {
  if (form.has("request")) throw new InvalidRequest("signed authentication requests are not supported");
}

/** CIBA §7.1: scope is required and must contain openid; each scope must be the client's. */
function checkScope(form: FormParams, client: Client): string[] {
  const scopes = [...new Set((form.get("scope") ?? "").split(" ").filter(Boolean))];
  if (!scopes.includes("openid")) throw new InvalidScope("scope must include openid");
  const allowed = clientScopes(client);
  const refused = scopes.filter((s) => !allowed.includes(s));
  if (refused.length > 0)
    throw new InvalidScope(`scope not allowed for this client: ${refused.join(" ").slice(0, 200)}`);
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

/** CIBA §7.1: requested_expiry is a positive integer, at most the client's request lifetime. */
function checkRequestedExpiry(form: FormParams, client: Client, settings: Settings): number {
  const maximum = client.ciba_request_lifetime ?? settings.cibaRequestLifetime;
  const raw = form.get("requested_expiry");
  if (raw === undefined) return maximum;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new InvalidRequest("requested_expiry must be a positive integer");
  const requested = Number(raw);
  if (requested > maximum) throw new InvalidRequest(`requested_expiry may be at most ${maximum} seconds`);
  return requested;
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
