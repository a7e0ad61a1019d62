/**
 * Signed authentication requests (CIBA §7.1.1, checklist C16). A client may send its
 * authentication request as a JWT in the `request` parameter; a client that registered
 * `backchannel_authentication_request_signing_alg`, and every FAPI-CIBA client, must. Pipeline:
 *   rejectParametersBesideRequest → verifyRequestObject (signature, alg, iss, aud, exp, nbf,
 *   iat, jti present) → checkLifetime → parametersOf → claimRequestJti
 * Times follow the clock tolerance every client JWT shares (src/clients/jwt-time.ts).
 * Every failure is `invalid_request`. After this, the request's parameters come only from the
 * JWT; the rest of the endpoint's pipeline reads them exactly as it reads a form.
 */
import { type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import { clientKeys } from "../clients/assertion";
import { clockTolerance, timeProblem } from "../clients/jwt-time";
import { ASYMMETRIC_ALGS, type Client, FAPI_ALGS } from "../clients/metadata";
import type { RequestContext } from "../context";
import { InvalidRequest, OAuthError } from "../errors";
import { FormParams } from "../params/form-params";
import { claimClientJwtId } from "../replay/client-jwt-ids";

/** The authentication request parameters (CIBA §7.1, RFC 8707): in the JWT, never beside it. */
export const AUTHENTICATION_REQUEST_PARAMETERS = [
  "scope",
  "client_notification_token",
  "acr_values",
  "login_hint_token",
  "id_token_hint",
  "login_hint",
  "binding_message",
  "user_code",
  "requested_expiry",
  "resource",
] as const;

/** CIBA §7.1.1: at most 60 minutes between nbf and exp, and nbf no older than 60 minutes. */
const MAX_REQUEST_LIFETIME = 3600;

export interface AuthenticationRequest {
  /** The request's parameters: the form's, or the signed request's claims. */
  params: FormParams;
  /** True when they came from a verified `request` JWT. */
  signed: boolean;
}

/** The authentication request the client sent: plain form parameters, or a verified JWT. */
export async function readAuthenticationRequest(
  ctx: RequestContext,
  client: Client,
  form: FormParams,
): Promise<AuthenticationRequest> {
  const jwt = form.get("request");
  if (jwt === undefined) {
    if (client.backchannel_authentication_request_signing_alg) {
      throw new InvalidRequest(
        "this client registered backchannel_authentication_request_signing_alg: send a signed request",
      );
    }
    return { params: form, signed: false };
  }
  rejectParametersBesideRequest(form);
  const claims = await verifyRequestObject(ctx, client, jwt);
  checkLifetime(ctx, claims);
  const params = parametersOf(claims);
  await claimRequestJti(ctx, client, claims);
  return { params, signed: true };
}

/** CIBA §7.1.1: authentication request parameters must not appear outside the JWT. */
function rejectParametersBesideRequest(form: FormParams): void {
  const beside = AUTHENTICATION_REQUEST_PARAMETERS.filter((name) => form.has(name) || form.getAll(name).length > 0);
  if (beside.length > 0) {
    throw new InvalidRequest(`with a signed request, ${beside.join(", ")} must be inside it, not beside it`);
  }
}

/**
 * The client's registered algorithm if it has one, else any asymmetric one discovery lists
 * (FAPI-CIBA: PS256, ES256 or EdDSA). HMAC and `none` are never accepted.
 */
function allowedAlgorithms(client: Client): string[] {
  const supported: readonly string[] = client.fapi_ciba ? FAPI_ALGS : ASYMMETRIC_ALGS;
  const registered = client.backchannel_authentication_request_signing_alg;
  return registered ? supported.filter((alg) => alg === registered) : [...supported];
}

async function verifyRequestObject(ctx: RequestContext, client: Client, jwt: string): Promise<JWTPayload> {
  if (!client.jwks && !client.jwks_uri) {
    throw new InvalidRequest("signed requests need the client's registered public keys (jwks or jwks_uri)");
  }
  const algorithms = allowedAlgorithms(client);
  try {
    const { payload } = await jwtVerify(jwt, clientKeys(ctx, client), {
      algorithms,
      issuer: client.client_id,
      audience: ctx.settings.issuer,
      requiredClaims: ["exp", "iat", "nbf", "jti"],
      ...clockTolerance(ctx.settings),
    });
    return payload;
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw new InvalidRequest(`signed request rejected: ${reasonOf(error, algorithms)}`);
  }
}

/** CIBA §7.1.1 (FAPI-CIBA §5.2.2): exp − nbf ≤ 60 min, nbf not older than 60 min, iat not ahead. */
function checkLifetime(ctx: RequestContext, claims: JWTPayload): void {
  const problem = timeProblem(claims, ctx.settings, { maxLifetime: MAX_REQUEST_LIFETIME });
  if (problem) throw new InvalidRequest(`signed request rejected: ${problem}`);
}

/**
 * The JWT's authentication request parameters as form parameters. Strings as they are;
 * `requested_expiry` may also be a JSON number (CIBA §7.1.1), `resource` a string or an array
 * of strings. Any other type is invalid_request; claims that are not parameters are ignored.
 */
function parametersOf(claims: JWTPayload): FormParams {
  const values = new Map<string, string>();
  const multi = new Map<string, string[]>();
  for (const name of AUTHENTICATION_REQUEST_PARAMETERS) {
    const value = claims[name];
    if (value === undefined) continue;
    if (name === "resource" && Array.isArray(value) && value.every((v) => typeof v === "string")) {
      multi.set(name, value as string[]);
    } else if (name === "resource" && typeof value === "string") {
      multi.set(name, [value]);
    } else if (name === "requested_expiry" && typeof value === "number") {
      // "1.5", "-5" and "1e+21" are then refused exactly as in a form.
      values.set(name, String(value));
    } else if (typeof value === "string") {
      if (value !== "") values.set(name, value);
    } else {
      throw new InvalidRequest(`${name} in the signed request must be a string`);
    }
  }
  return new FormParams(values, multi);
}

/**
 * C16: a signed request is accepted once; its jti is remembered for as long as the request could
 * be accepted, exp plus the clock tolerance (strongly consistent).
 */
async function claimRequestJti(ctx: RequestContext, client: Client, claims: JWTPayload): Promise<void> {
  const { jti, exp } = claims;
  if (typeof jti !== "string" || jti === "" || jti.length > 256) {
    throw new InvalidRequest("signed request rejected: jti must be a non-empty string");
  }
  const fresh = await claimClientJwtId(ctx, client.client_id, "backchannel_request", jti, exp ?? 0);
  if (!fresh) throw new InvalidRequest("signed request rejected: jti was already used");
}

/** jose's messages are precise and hold no secrets; name the allowed algorithms when that failed. */
function reasonOf(error: unknown, algorithms: string[]): string {
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return `alg must be one of ${algorithms.join(", ")}`;
  return error instanceof Error ? error.message.slice(0, 200) : "invalid";
}
