/**
 * BackchannelAuthenticationUserValidator: finds the user a backchannel request is for (CIBA
 * §7.1: exactly one of login_hint, id_token_hint, login_hint_token) and checks the user_code.
 * Replaceable (createProvider's `services.userValidator`) by an integrator whose users live elsewhere; it throws the
 * spec's errors (unknown_user_id, expired_login_hint_token, missing_user_code,
 * invalid_user_code, or access_denied for a policy refusal) and returns the user's `sub`.
 * A replacement that checks user_codes itself can reuse `withinUserCodeLimits`
 * (./user-code-limits.ts), which limits guessing per user and per client.
 */
import { compactVerify, createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import { clockTolerance, timeProblem } from "../clients/jwt-time";
import type { Client } from "../clients/metadata";
import type { BackchannelAuthenticationUserValidator, RequestContext, UserValidationContext } from "../context";
import { ExpiredLoginHintToken, InvalidRequest, InvalidUserCode, MissingUserCode, UnknownUserId } from "../errors";
import { isRecord } from "../parse";
import type { UserStore } from "../stores";
import { loadKeys } from "../tokens/keys";
import type { User } from "../users/user";
import { hashUserCode, matchUserCode } from "../users/user-code";
import { withinUserCodeLimits } from "./user-code-limits";

export class DefaultUserValidator implements BackchannelAuthenticationUserValidator {
  async validateRequest(context: UserValidationContext): Promise<{ subject: string }> {
    const users = context.ctx.stores.users;
    const user = await resolveHint(context, users);
    if (!user) throw new UnknownUserId();
    await checkUserCode(context.ctx, context.client, user, context.userCode, users);
    return { subject: user.sub };
  }
}

async function resolveHint(context: UserValidationContext, users: UserStore): Promise<User | undefined> {
  const { hint } = context;
  switch (hint.kind) {
    case "login_hint":
      return hint.value.length <= 256 ? users.findByLoginHint(hint.value) : undefined;
    case "id_token_hint":
      return users.findBySubject(await subjectOfIdTokenHint(context));
    case "login_hint_token":
      return userOfLoginHintToken(context, users);
  }
}

/**
 * CIBA §7.1: an ID token this provider issued to this client. It may have expired (the user
 * is identified, not authenticated, by it), so only signature, iss and aud are checked.
 */
async function subjectOfIdTokenHint(context: UserValidationContext): Promise<string> {
  const { ctx, client, hint } = context;
  const keys = await loadKeys(ctx);
  let claims: Record<string, unknown>;
  try {
    const { payload } = await compactVerify(hint.value, createLocalJWKSet(keys.jwks), {
      algorithms: keys.all.map((k) => k.alg),
    });
    const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
    if (!isRecord(parsed)) throw new InvalidRequest("id_token_hint is not an ID token issued by this provider");
    claims = parsed;
  } catch {
    throw new InvalidRequest("id_token_hint is not an ID token issued by this provider");
  }
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== ctx.settings.issuer || !audience.includes(client.client_id) || typeof claims.sub !== "string") {
    throw new InvalidRequest("id_token_hint was not issued by this provider to this client");
  }
  return claims.sub;
}

/** A JWT from one of LOGIN_HINT_TOKEN_ISSUERS naming the user by `sub` or `sub_id` (RFC 9493). */
async function userOfLoginHintToken(context: UserValidationContext, users: UserStore): Promise<User | undefined> {
  const { ctx, hint } = context;
  let issuer: unknown;
  try {
    issuer = decodeJwt(hint.value).iss;
  } catch {
    throw new InvalidRequest("login_hint_token is not a JWT");
  }
  const trusted = ctx.settings.loginHintTokenIssuers.find((t) => t.issuer === issuer);
  if (!trusted) throw new InvalidRequest("login_hint_token is not from a trusted issuer");
  const keys = trusted.jwks
    ? createLocalJWKSet(trusted.jwks as Parameters<typeof createLocalJWKSet>[0])
    : ctx.jwks.remote(trusted.jwks_uri as string, ctx.settings);
  let claims: Record<string, unknown>;
  try {
    const options = { issuer: trusted.issuer, requiredClaims: ["exp"], ...clockTolerance(ctx.settings) };
    claims = (await jwtVerify(hint.value, keys, options)).payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new ExpiredLoginHintToken();
    throw new InvalidRequest("login_hint_token could not be verified");
  }
  // The clock tolerance every JWT a client brings shares (FAPI 2.0 §5.3.2.1), iat included.
  const problem = timeProblem(claims, ctx.settings, {});
  if (problem) throw new InvalidRequest(`login_hint_token rejected: ${problem}`);
  return userOfSubjectClaims(ctx, claims, users);
}

async function userOfSubjectClaims(
  ctx: RequestContext,
  claims: Record<string, unknown>,
  users: UserStore,
): Promise<User | undefined> {
  const subId = claims.sub_id;
  if (isRecord(subId)) {
    if (subId.format === "email" && typeof subId.email === "string") return users.findByEmail(subId.email);
    if (subId.format === "phone_number" && typeof subId.phone_number === "string") {
      return users.findByPhoneNumber(subId.phone_number);
    }
    if (subId.format === "iss_sub" && subId.iss === ctx.settings.issuer && typeof subId.sub === "string") {
      return users.findBySubject(subId.sub);
    }
    throw new UnknownUserId("login_hint_token sub_id format is not supported");
  }
  if (typeof claims.sub === "string") return users.findBySubject(claims.sub);
  throw new UnknownUserId("login_hint_token names no user");
}

/**
 * CIBA §7.1: only clients that registered backchannel_user_code_parameter send a user_code.
 * Each comparison runs under the per-user and per-client limits on wrong codes (429 once one
 * is used up); a right code stored in the legacy bare-SHA-256 form is stored keyed from now on.
 */
async function checkUserCode(
  ctx: RequestContext,
  client: Client,
  user: User,
  userCode: string | undefined,
  users: UserStore,
): Promise<void> {
  if (!client.backchannel_user_code_parameter) return;
  if (userCode === undefined) throw new MissingUserCode();
  const secret = ctx.env.DATA_ENCRYPTION_KEY;
  const right = await withinUserCodeLimits(ctx.env, ctx.settings, client, user.sub, async () => {
    const match = await matchUserCode(secret, user.sub, userCode, user.user_code_hash);
    if (match === "legacy" && user.user_code_hash !== undefined) {
      await users.replaceUserCodeHash(user.sub, user.user_code_hash, await hashUserCode(secret, user.sub, userCode));
    }
    return match !== "no_match";
  });
  if (!right) throw new InvalidUserCode();
}
