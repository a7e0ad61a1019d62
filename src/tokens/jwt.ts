/**
 * Minting and verifying this provider's own JWTs: access tokens (RFC 9068) and ID tokens
 * (OpenID Connect Core §2). Every token carries `kid` so a verifier can pick the key after a
 * rotation.
 */
import { createLocalJWKSet, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { randomHandle } from "../crypto/hash";
import type { KeySet } from "./keys";

export const ACCESS_TOKEN_TYP = "at+jwt";

export async function signJwt(keys: KeySet, payload: JWTPayload, typ: string): Promise<string> {
  const { active } = keys;
  return new SignJWT(payload).setProtectedHeader({ alg: active.alg, kid: active.kid, typ }).sign(active.privateKey);
}

export interface AccessTokenInput {
  issuer: string;
  subject: string;
  clientId: string;
  audience: string | string[];
  scope: string;
  lifetime: number;
  /** Extra claims (`auth_time`, `acr`, `sid`, `cnf`, …). */
  claims?: Record<string, unknown>;
}

/** RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti, plus scope. */
export async function mintAccessToken(keys: KeySet, input: AccessTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    keys,
    {
      ...input.claims,
      iss: input.issuer,
      sub: input.subject,
      aud: input.audience,
      client_id: input.clientId,
      scope: input.scope,
      jti: randomHandle(16),
      iat: now,
      exp: now + input.lifetime,
    },
    ACCESS_TOKEN_TYP,
  );
}

export interface VerifiedAccessToken {
  sub: string;
  client_id: string;
  scope: string[];
  payload: JWTPayload;
}

/** Verifies one of our access tokens; returns undefined for anything that is not one. */
export async function verifyAccessToken(
  keys: KeySet,
  token: string,
  issuer: string,
): Promise<VerifiedAccessToken | undefined> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks), {
      issuer,
      typ: ACCESS_TOKEN_TYP,
      algorithms: keys.all.map((k) => k.alg),
      requiredClaims: ["sub", "client_id", "exp", "iat", "jti"],
    });
    if (typeof payload.sub !== "string" || typeof payload.client_id !== "string") return undefined;
    const scope = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [];
    return { sub: payload.sub, client_id: payload.client_id, scope, payload };
  } catch {
    return undefined;
  }
}

export interface IdTokenInput {
  issuer: string;
  subject: string;
  clientId: string;
  lifetime: number;
  authTime: number;
  amr?: string[];
  acr?: string;
  sid?: string;
  nonce?: string;
  /** Extra claims (`at_hash`, `urn:openid:params:jwt:claim:auth_req_id`, …). */
  claims?: Record<string, unknown>;
}

/** OpenID Connect Core §2: iss, sub, aud, exp, iat, auth_time, and amr/acr/sid/nonce when known. */
export async function mintIdToken(keys: KeySet, input: IdTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    ...input.claims,
    iss: input.issuer,
    sub: input.subject,
    aud: input.clientId,
    iat: now,
    exp: now + input.lifetime,
    auth_time: input.authTime,
  };
  if (input.amr?.length) payload.amr = input.amr;
  if (input.acr) payload.acr = input.acr;
  if (input.sid) payload.sid = input.sid;
  if (input.nonce) payload.nonce = input.nonce;
  return signJwt(keys, payload, "JWT");
}
