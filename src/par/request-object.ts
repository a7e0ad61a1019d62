/**
 * Request objects at the PAR endpoint (RFC 9101, RFC 9126 §3): the authorization request as a
 * JWT signed with one of the client's registered keys. Only the object's parameters count.
 * Checks: signature and algorithm (the registered request_object_signing_alg, asymmetric only)
 * → iss = client_id claim = the authenticated client → aud = issuer → exp, and with nbf a
 * lifetime of at most 60 minutes (FAPI 2.0).
 */
import { type JWTPayload, jwtVerify } from "jose";
import { clientKeys } from "../clients/assertion";
import { ASYMMETRIC_ALGS, type Client } from "../clients/metadata";
import type { RequestContext } from "../http/context";
import { InvalidRequest, OAuthError } from "../http/errors";
import { FormParams } from "../http/form";

/** RFC 9101 §6.2: invalid_request_object for a request object that fails verification. */
export class InvalidRequestObject extends OAuthError {
  constructor(description: string) {
    super("invalid_request_object", description);
  }
}

const MAX_LIFETIME = 3600;
const CLOCK_SKEW = 10;

export async function parametersFromRequestObject(
  ctx: RequestContext,
  client: Client,
  requestObject: string,
): Promise<FormParams> {
  const payload = await verifyRequestObject(ctx, client, requestObject);
  checkClientId(client, payload);
  checkLifetime(payload);
  return toParameters(payload);
}

async function verifyRequestObject(ctx: RequestContext, client: Client, jwt: string): Promise<JWTPayload> {
  const algorithms = client.request_object_signing_alg ? [client.request_object_signing_alg] : [...ASYMMETRIC_ALGS];
  try {
    const { payload } = await jwtVerify(jwt, clientKeys(ctx, client), {
      algorithms,
      issuer: client.client_id,
      audience: ctx.settings.issuer,
      requiredClaims: ["exp"],
      clockTolerance: CLOCK_SKEW,
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

function checkLifetime(payload: JWTPayload): void {
  const { exp, nbf } = payload;
  if (typeof nbf === "number" && typeof exp === "number" && exp - nbf > MAX_LIFETIME) {
    throw new InvalidRequestObject("the request object may live at most 60 minutes (exp - nbf)");
  }
  if (typeof nbf === "number" && nbf < Math.floor(Date.now() / 1000) - MAX_LIFETIME) {
    throw new InvalidRequestObject("the request object's nbf is more than 60 minutes old");
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
