/**
 * The pushed authorization request endpoint (RFC 9126 §2). Pipeline: readForm →
 * authenticateClient → withinRateLimit → rejectRequestUri → pushedParameters (the form, or only
 * a request object's claims: verified, without request_uri or request inside, used once; see
 * ./request-object.ts) → validate exactly as /authorize would → dpopBinding (RFC 9449 §10.1) →
 * store → 201.
 */
import type { Context } from "hono";
import { REQUEST_URI_PREFIX } from "../authorize/authorization";
import { checkAuthorizationParameters, checkRedirectUri } from "../authorize/authorization-request";
import { authenticateClient } from "../clients/authenticate";
import type { Client } from "../clients/metadata";
import type { RequestContext } from "../context";
import { randomHandle, sha256Hex } from "../crypto/hash";
import { parseDpopJkt, pushedRequestJkt } from "../dpop/binding";
import { DPOP_NONCE_HEADER } from "../dpop/errors";
import { publishedEndpointUrl } from "../dpop/htu";
import { dpopProofOf, verifyDpopProof } from "../dpop/proof";
import { InvalidRequest, OAuthError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readForm } from "../http/form";
import { parametersFromRequestObject } from "../par/request-object";
import type { FormParams } from "../params/form-params";
import { endpointUrls } from "../routes";

/** Client authentication parameters: never part of the stored request. */
const CLIENT_AUTH_PARAMETERS = ["client_id", "client_secret", "client_assertion", "client_assertion_type"];

export async function pushedAuthorizationRequestEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const form = await readForm(ctx.request, ctx.settings.maxRequestBodyBytes, { multiValued: ["resource"] });
  const client = await authenticateClient(ctx, form, endpointUrls(ctx.settings.issuer).pushedAuthorizationRequest);
  await withinRateLimit(ctx, client);
  rejectRequestUri(form);
  const params = await pushedParameters(ctx, client, form);
  validateAsAuthorizeWould(ctx, client, params);
  const binding = await dpopBinding(ctx, params);
  const { requestUri, expiresIn } = await storePushedRequest(ctx, client, params, binding.jkt);
  const headers: Record<string, string> = { ...NO_STORE };
  if (binding.nextNonce !== undefined) headers[DPOP_NONCE_HEADER] = binding.nextNonce;
  return c.json({ request_uri: requestUri, expires_in: expiresIn }, 201, headers);
}

/**
 * RFC 9449 §10.1: a `DPoP` header at /par binds the code as `dpop_jkt` would; with both, the
 * proof's key must be the one named. The proof is checked as at the token endpoint (§4.3).
 */
async function dpopBinding(ctx: RequestContext, params: FormParams) {
  const policy = ctx.dpop.authorizationServer;
  const proof = dpopProofOf(ctx.request.headers, policy);
  const url = publishedEndpointUrl(ctx.settings.issuer, ctx.settings.mtlsEndpointOrigin, ctx.request.url);
  const verified = proof === undefined ? undefined : await verifyDpopProof(proof, { method: "POST", url }, policy);
  return {
    jkt: pushedRequestJkt(parseDpopJkt(params.get("dpop_jkt")), verified?.jkt),
    nextNonce: verified?.nextNonce,
  };
}

/** RFC 9126 §2.3: a client pushing too fast gets 429. */
async function withinRateLimit(ctx: RequestContext, client: Client): Promise<void> {
  const { success } = await ctx.env.PAR_BY_CLIENT.limit({ key: client.client_id });
  if (!success) {
    throw new OAuthError("invalid_request", "too many pushed authorization requests; retry shortly", 429, {
      "Retry-After": "10",
    });
  }
}

/** RFC 9126 §2.1: request_uri must not be pushed (inside a request object: ./request-object.ts). */
function rejectRequestUri(form: FormParams): void {
  if (form.has("request_uri")) throw new InvalidRequest("request_uri must not be sent to the PAR endpoint");
}

/** A request object carries the whole request (RFC 9126 §3): nothing else may come with it. */
async function pushedParameters(ctx: RequestContext, client: Client, form: FormParams): Promise<FormParams> {
  const requestObject = form.get("request");
  if (requestObject === undefined) {
    if (client.request_object_signing_alg) {
      throw new InvalidRequest("this client must push a signed request object (request_object_signing_alg)");
    }
    return form;
  }
  const extra = form.names().filter((n) => n !== "request" && !CLIENT_AUTH_PARAMETERS.includes(n));
  if (extra.length > 0 || form.getAll("resource").length > 0) {
    throw new InvalidRequest("with a request object, the body holds only request and client authentication");
  }
  return parametersFromRequestObject(ctx, client, requestObject);
}

function validateAsAuthorizeWould(ctx: RequestContext, client: Client, params: FormParams): void {
  const clientId = params.get("client_id");
  if (clientId !== undefined && clientId !== client.client_id) {
    throw new InvalidRequest("client_id does not match the authenticated client");
  }
  const redirectUri = checkRedirectUri(client, params, {
    allowUnregisteredRedirectUri: ctx.settings.parAllowUnregisteredRedirectUri,
  });
  checkAuthorizationParameters(client, params, redirectUri, ctx.authorizationDetails);
}

async function storePushedRequest(
  ctx: RequestContext,
  client: Client,
  params: FormParams,
  dpopJkt: string | undefined,
) {
  const reference = randomHandle(32);
  const lifetime = client.par_request_lifetime ?? ctx.settings.parLifetime;
  await ctx.stores.pushedRequests.store({
    referenceValueHash: await sha256Hex(reference),
    expiresAtUtc: Math.floor(Date.now() / 1000) + lifetime,
    parameters: toQuery(params, dpopJkt),
    clientId: client.client_id,
  });
  return { requestUri: `${REQUEST_URI_PREFIX}${reference}`, expiresIn: lifetime };
}

function toQuery(params: FormParams, dpopJkt: string | undefined): string {
  const query = new URLSearchParams();
  for (const name of params.names()) {
    if (CLIENT_AUTH_PARAMETERS.includes(name) && name !== "client_id") continue;
    query.set(name, params.get(name) as string);
  }
  for (const resource of params.getAll("resource")) query.append("resource", resource);
  // Stored as the request's own dpop_jkt, so /authorize binds the code as it would for one sent there.
  if (dpopJkt !== undefined) query.set("dpop_jkt", dpopJkt);
  return query.toString();
}
