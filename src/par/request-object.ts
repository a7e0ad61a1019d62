/**
 * Request objects at the PAR endpoint (RFC 9101, RFC 9126 §3): the authorization request as a
 * JWT signed with one of the client's registered keys. Only the object's parameters count.
 * Checks: signature and algorithm (the registered request_object_signing_alg, asymmetric only)
 * → iss = client_id claim = the authenticated client → aud = issuer → times (exp required; the
 * clock tolerance every client JWT shares, src/clients/jwt-time.ts; at most 60 minutes from nbf,
 * else iat, else now: FAPI 2.0) → nbf required from the clients FAPI 2.0 Message Signing covers
 * → no request or request_uri inside (RFC 9101 §4, RFC 9126 §2.1) → used once (its jti, or the
 * object itself when it has none).
 */
import { type JWTPayload, jwtVerify } from "jose";
import { clientKeys } from "../clients/assertion";
import { isFapi2 } from "../clients/fapi2";
import { clockTolerance, timeProblem } from "../clients/jwt-time";
import { ASYMMETRIC_ALGS, type Client } from "../clients/metadata";
import type { RequestContext } from "../context";
import { sha256Hex } from "../crypto/hash";
import { InvalidRequest, OAuthError } from "../errors";
import { FormParams } from "../params/form-params";
import { claimClientJwtId } from "../replay/client-jwt-ids";

/** RFC 9101 §6.2: invalid_request_object for a request object that fails verification. */
export class InvalidRequestObject extends OAuthError {
  constructor(description: string) {
    super("invalid_request_object", description);
  }
}

/** FAPI 2.0 (and CIBA §7.1.1 for its signed requests): a request object lives at most 60 minutes. */
const MAX_LIFETIME = 3600;

export async function parametersFromRequestObject(
  ctx: RequestContext,
  client: Client,
  requestObject: string,
): Promise<FormParams> {
  const payload = await verifyRequestObject(ctx, client, requestObject);
  checkClientId(client, payload);
  checkMessageSigningClaims(client, payload);
  checkLifetime(ctx, payload);
  const params = toParameters(payload);
  rejectNestedReferences(params);
  await useOnce(ctx, client, payload, requestObject);
  return params;
}

async function verifyRequestObject(ctx: RequestContext, client: Client, jwt: string): Promise<JWTPayload> {
  const algorithms = client.request_object_signing_alg ? [client.request_object_signing_alg] : [...ASYMMETRIC_ALGS];
  try {
    const { payload } = await jwtVerify(jwt, clientKeys(ctx, client), {
      algorithms,
      issuer: client.client_id,
      audience: ctx.settings.issuer,
      requiredClaims: ["exp"],
      ...clockTolerance(ctx.settings),
    });
    return payload;
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    const reason = error instanceof Error ? error.message.slice(0, 200) : "invalid";
    throw new InvalidRequestObject(`request object rejected: ${reason}`);
  }
}

function checkClientId(client: Client, payload: JWTPayload): void {
  if (payload.client_id !== client.client_id) {
    throw new InvalidRequestObject("the request object's client_id must be the authenticated client");
  }
}

/**
 * FAPI 2.0 Message Signing §5.3.2 requires `nbf` (and `exp`, required of every object above), so
 * that the 60-minute lifetime is measured from a time the client signed. It covers the clients
 * that registered for signed requests (request_object_signing_alg: the endpoint then refuses
 * plain parameters) and fapi2 clients whenever they push an object. Others keep RFC 9101's rules,
 * where nbf is optional and the lifetime is measured from iat or now.
 */
function checkMessageSigningClaims(client: Client, payload: JWTPayload): void {
  if (!(client.request_object_signing_alg || isFapi2(client))) return;
  if (typeof payload.nbf !== "number") {
    throw new InvalidRequestObject("FAPI 2.0 Message Signing §5.3.2: the request object must carry nbf");
  }
}

function checkLifetime(ctx: RequestContext, payload: JWTPayload): void {
  const problem = timeProblem(payload, ctx.settings, { maxLifetime: MAX_LIFETIME });
  if (problem) throw new InvalidRequestObject(`request object rejected: ${problem}`);
}

/**
 * RFC 9101 §4: a request object must not hold `request` or `request_uri`; RFC 9126 §2.1: a
 * request_uri is never pushed, whether in the form (refused by the endpoint) or in the object.
 */
function rejectNestedReferences(params: FormParams): void {
  for (const name of ["request", "request_uri"]) {
    if (params.has(name)) throw new InvalidRequest(`${name} must not be inside a request object pushed to /par`);
  }
}

/**
 * A request object is pushed once (RFC 7519 §4.1.7: jti lets a JWT be refused as a replay): its jti is
 * remembered for as long as the object could be accepted. An object without a jti is identified
 * by its own SHA-256, so the very same object cannot be pushed twice either.
 */
async function useOnce(ctx: RequestContext, client: Client, payload: JWTPayload, jwt: string): Promise<void> {
  const { jti, exp } = payload;
  if (jti !== undefined && (typeof jti !== "string" || jti === "" || jti.length > 256)) {
    throw new InvalidRequestObject("request object rejected: jti must be a non-empty string");
  }
  const id = jti ?? `sha256:${await sha256Hex(jwt)}`;
  const fresh = await claimClientJwtId(ctx, client.client_id, "request_object", id, exp ?? 0);
  if (!fresh) {
    throw new InvalidRequestObject(
      jti === undefined
        ? "request object rejected: it was already used"
        : "request object rejected: jti was already used",
    );
  }
}

/** Claims become parameters: strings as they are, numbers as text, `resource` may be an array. */
function toParameters(payload: JWTPayload): FormParams {
  const values = new Map<string, string>();
  const multi = new Map<string, string[]>();
  const skip = new Set(["iss", "aud", "exp", "iat", "nbf", "jti"]);
  for (const [name, value] of Object.entries(payload)) {
    if (skip.has(name)) continue;
    if (name === "resource") {
      const list = Array.isArray(value) ? value : [value];
      if (list.some((v) => typeof v !== "string")) throw new InvalidRequest("resource must be a string or strings");
      multi.set(name, list as string[]);
    } else if (typeof value === "string" || typeof value === "number") {
      values.set(name, String(value));
    } else if (value !== null) {
      throw new InvalidRequest(`request object claim ${name.slice(0, 40)} must be a string or a number`);
    }
  }
  return new FormParams(values, multi);
}
