/**
 * JWT client assertions (RFC 7523 §3, OpenID Connect Core §9): `client_secret_jwt` (HMAC with
 * the client's secret) and `private_key_jwt` (the client's registered keys). Checks, in order:
 * signature and algorithm → iss = sub = client_id → aud (for a fapi2 client only the issuer, as
 * a string) → exp, nbf, iat (the shared clock tolerance, src/clients/jwt-time.ts; exp not too far
 * ahead) → jti (present, never seen before while the assertion could still be accepted).
 */
import { createLocalJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { RequestContext } from "../context";
import { decrypt } from "../crypto/encryption";
import { InvalidClient } from "../errors";
import { logger } from "../log";
import { claimClientJwtId } from "../replay/client-jwt-ids";
import { endpointUrls } from "../routes";
import { isFapi2 } from "./fapi2";
import { clockTolerance, timeProblem } from "./jwt-time";
import { ASYMMETRIC_ALGS, type Client, FAPI_ALGS, HMAC_ALGS } from "./metadata";
import { clientSecretAad } from "./registry";

export async function verifyClientAssertion(
  ctx: RequestContext,
  client: Client,
  assertion: string,
  endpointUrl: string,
): Promise<void> {
  const payload = await verifySignature(ctx, client, assertion, endpointUrl);
  checkFapi2Audience(ctx, client, payload);
  checkTimes(ctx, payload);
  await checkJti(ctx, client, payload);
}

async function verifySignature(
  ctx: RequestContext,
  client: Client,
  assertion: string,
  endpointUrl: string,
): Promise<JWTPayload> {
  const { issuer } = ctx.settings;
  const audiences = isFapi2(client)
    ? [issuer]
    : [...new Set([issuer, endpointUrls(ctx.settings.issuer).token, endpointUrl])];
  const algorithms = allowedAlgorithms(client);
  try {
    const options = {
      issuer: client.client_id,
      subject: client.client_id,
      audience: audiences,
      algorithms,
      ...clockTolerance(ctx.settings),
    };
    const required = { requiredClaims: ["exp", "jti"] };
    if (client.token_endpoint_auth_method === "client_secret_jwt") {
      const secret = await clientSecret(ctx, client);
      return (await jwtVerify(assertion, secret, { ...options, ...required })).payload;
    }
    return (await jwtVerify(assertion, clientKeys(ctx, client), { ...options, ...required })).payload;
  } catch (error) {
    if (error instanceof InvalidClient) throw error;
    throw new InvalidClient(`client_assertion rejected: ${joseReason(error)}`);
  }
}

/**
 * FAPI 2.0 Security Profile §5.3.2.1 (8): the server "shall only accept its issuer identifier
 * value ... as a string in the aud claim received in client authentication assertions" (and
 * §5.3.3.1 (5): the client sends it "as a string not as an item in an array"). jose's audience
 * check above accepts an array holding the issuer, so the form is checked here. Other clients
 * keep RFC 7523 §3's audiences (the issuer, the token endpoint, the endpoint called).
 */
function checkFapi2Audience(ctx: RequestContext, client: Client, payload: JWTPayload): void {
  if (isFapi2(client) && payload.aud !== ctx.settings.issuer) {
    throw new InvalidClient("FAPI 2.0 §5.3.2.1: the client_assertion aud must be the issuer identifier, as a string");
  }
}

function allowedAlgorithms(client: Client): string[] {
  if (client.token_endpoint_auth_signing_alg) return [client.token_endpoint_auth_signing_alg];
  // FAPI-CIBA (checklist F1): an unregistered algorithm still may not be RS256.
  if (client.fapi_ciba) return [...FAPI_ALGS];
  return client.token_endpoint_auth_method === "client_secret_jwt" ? [...HMAC_ALGS] : [...ASYMMETRIC_ALGS];
}

async function clientSecret(ctx: RequestContext, client: Client): Promise<Uint8Array> {
  const stored = client.client_secret_encrypted;
  const secret = stored
    ? await decrypt(ctx.env.DATA_ENCRYPTION_KEY, stored, clientSecretAad(client.client_id))
    : undefined;
  if (!secret) {
    logger.error("client_secret_unreadable", { client_id: client.client_id });
    throw new InvalidClient("client secret is not available for client_secret_jwt");
  }
  return new TextEncoder().encode(secret);
}

/** The client's registered public keys (inline jwks or jwks_uri), for any JWT it signs. */
export function clientKeys(ctx: RequestContext, client: Client): JWTVerifyGetKey {
  if (client.jwks) return createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0]);
  if (client.jwks_uri) return ctx.jwks.remote(client.jwks_uri, ctx.settings);
  throw new InvalidClient("client has no registered keys");
}

/** RFC 7523 §3: exp bounded (CLIENT_ASSERTION_MAX_LIFETIME), iat not ahead beyond the tolerance. */
function checkTimes(ctx: RequestContext, payload: JWTPayload): void {
  const problem = timeProblem(payload, ctx.settings, { maxExpiresIn: ctx.settings.clientAssertionMaxLifetime });
  if (problem) throw new InvalidClient(`client_assertion rejected: ${problem}`);
}

async function checkJti(ctx: RequestContext, client: Client, payload: JWTPayload): Promise<void> {
  if (typeof payload.jti !== "string" || payload.jti === "" || payload.jti.length > 256) {
    throw new InvalidClient("client_assertion jti must be a non-empty string");
  }
  const fresh = await claimClientJwtId(ctx, client.client_id, "client_assertion", payload.jti, payload.exp ?? 0);
  if (!fresh) throw new InvalidClient("client_assertion jti was already used");
}

/** jose's error messages are precise and contain no secrets; keep them short. */
function joseReason(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : "invalid";
}
