/**
 * Refresh tokens (RFC 6749 §1.5, §6): opaque `<familyId>.<secret>` strings, where familyId
 * (128 bits) names the family's Durable Object and secret (256 bits) makes the token
 * unguessable. Only sha256Hex(token) is stored. Every refresh rotates the token; the family's
 * lifetime (REFRESH_TOKEN_TTL) runs from the first issue and is not extended by rotation.
 * A family whose grant is listed in revoked_grants is refused too, whatever its own state, and
 * so is a family whose user no longer exists (or is disabled), or whose client was removed and
 * registered again after the family started.
 */

import type { Client } from "../clients/metadata";
import type { RequestContext } from "../context";
import { randomHandle, sha256Hex } from "../crypto/hash";
import type { Bindings } from "../env";
import { InvalidGrant, InvalidScope } from "../errors";
import { logger } from "../log";
import type { UserGrant } from "./grant";
import type { RotationFailure } from "./refresh-token-family";
import { isGrantRevoked, revokeGrant } from "./revoked-grants";
import { issuedBeforeClient } from "./token-client";

const FAMILY_ID_BYTES = 16;
const SECRET_BYTES = 32;
/** base64url without padding: 16 bytes → 22 characters, 32 bytes → 43. */
const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;
const REFRESH_TOKEN_LENGTH = 22 + 1 + 43;

/** A new family id (128 random bits). Picked before the family starts when its revocation must not miss it. */
export function newRefreshFamilyId(): string {
  return randomHandle(FAMILY_ID_BYTES);
}

/**
 * Starts the family `familyId` for `grant` and returns its first refresh token. Throws
 * InvalidGrant if that family was revoked before it could start (its authorization code was
 * used again meanwhile): then no token of this exchange may be handed out.
 */
export async function issueRefreshToken(
  ctx: RequestContext,
  grant: UserGrant,
  familyId = newRefreshFamilyId(),
): Promise<string> {
  const token = `${familyId}.${randomHandle(SECRET_BYTES)}`;
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + ctx.settings.refreshTokenTtl;
  const started = await familyStub(ctx.env, familyId).start(
    { ...grant, issuedAt: now },
    await sha256Hex(token),
    expiresAt,
  );
  if (started === "revoked") throw new InvalidGrant("the grant was revoked while its tokens were being issued");
  // A 128-bit random id never collides in practice; if it did, failing beats merging families.
  if (started === "exists") throw new Error("refresh token family id collision");
  return token;
}

/**
 * RFC 6749 §6 with rotation (OAuth 2.0 Security BCP §4.14.2): exchanges the presented token for
 * a new one of the same family and returns the family's grant. `requestedScopes`, when given,
 * must be a subset of the grant's scopes, and a family bound to a client certificate needs the
 * same `certificateThumbprint` (both checked before the token is used up).
 * Throws InvalidGrant for anything that is not the current token of a live family of this client.
 */
export async function rotateRefreshToken(
  ctx: RequestContext,
  presented: string,
  client: Pick<Client, "client_id" | "client_id_issued_at">,
  requestedScopes?: string[],
  certificateThumbprint?: string,
  keep = false,
): Promise<{ grant: UserGrant; refreshToken: string }> {
  const familyId = parseFamilyId(presented);
  // keep (FAPI 2.0 §5.3.2.1, fapi2 clients): the presented token stays valid and is returned.
  const refreshToken = keep ? presented : `${familyId}.${randomHandle(SECRET_BYTES)}`;
  const [presentedHash, newHash] = await Promise.all([sha256Hex(presented), sha256Hex(refreshToken)]);
  const now = Math.floor(Date.now() / 1000);
  const clientId = client.client_id;
  const result = await familyStub(ctx.env, familyId).rotate(presentedHash, clientId, newHash, now, {
    requestedScopes,
    certificateThumbprint,
    keep,
  });
  if (result.ok) {
    await checkGrantNotRevoked(ctx, familyId, result.grant);
    await checkUserStillExists(ctx, familyId, result.grant);
    await checkClientNotReplaced(ctx, familyId, result.grant, client);
    return { grant: result.grant, refreshToken };
  }
  if (result.reason === "reused") {
    // Security BCP §4.14.2: someone replayed a rotated token. The token itself is never logged.
    // The family is revoked already; the grant's access tokens go with it.
    logger.warn("refresh_token_reuse", { client_id: clientId, family_id: familyId, sub: result.subject });
    if (result.grantId) {
      await revokeGrant(ctx.env.DB, result.grantId, "refresh_token_reuse", ctx.settings);
    }
  }
  if (result.reason === "scope_exceeds_grant") {
    throw new InvalidScope("scope may only narrow the scopes of the original grant");
  }
  throw new InvalidGrant(FAILURE_DESCRIPTIONS[result.reason]);
}

const FAILURE_DESCRIPTIONS: Record<Exclude<RotationFailure, "scope_exceeds_grant">, string> = {
  unknown: "refresh token is invalid",
  expired: "refresh token has expired",
  revoked: "refresh token has been revoked",
  client_mismatch: "refresh token was issued to another client",
  certificate_mismatch: "the refresh token is bound to another client certificate",
  reused: "refresh token was already used; every refresh token of this grant is now revoked",
};

/**
 * The second barrier: a grant listed in revoked_grants (its code or a rotated token was
 * replayed) gets no more tokens, even if its family somehow missed the revocation. The family
 * is revoked now too, so later attempts stop at the object.
 */
async function checkGrantNotRevoked(ctx: RequestContext, familyId: string, grant: UserGrant): Promise<void> {
  if (!grant.grantId || !(await isGrantRevoked(ctx.env.DB, grant.grantId))) return;
  await revokeRefreshFamily(ctx, familyId);
  throw new InvalidGrant(FAILURE_DESCRIPTIONS.revoked);
}

/**
 * Issue 15: removing a user removes their token families. The admin tool's removal reaches only
 * D1, where it revokes the grants session_grants lists; a CIBA grant's family is named in the
 * user's object instead (issue 18), out of its reach. So a family whose user the user store no
 * longer finds (removed, or disabled) gets no more tokens, and is revoked now, so that a user
 * added again under the same subject does not get it back.
 */
async function checkUserStillExists(ctx: RequestContext, familyId: string, grant: UserGrant): Promise<void> {
  if (await ctx.stores.users.findBySubject(grant.subject)) return;
  await revokeRefreshFamily(ctx, familyId);
  throw new InvalidGrant(FAILURE_DESCRIPTIONS.revoked);
}

/**
 * RFC 7592 §2.3 for the families removal cannot list (a CIBA grant's, named in the user's
 * object): a family started before its client's current registration belongs to an earlier
 * client with the same id, removed since. It gets no more tokens and is revoked now.
 */
async function checkClientNotReplaced(
  ctx: RequestContext,
  familyId: string,
  grant: UserGrant,
  client: Pick<Client, "client_id_issued_at">,
): Promise<void> {
  if (!familyPredatesClient(grant, client)) return;
  await revokeRefreshFamily(ctx, familyId);
  throw new InvalidGrant(FAILURE_DESCRIPTIONS.revoked);
}

/**
 * Whether the family of `grant` started before `client` (the client it was issued to, as now
 * registered) was. A family without a start time (started before edge-op recorded it) is
 * taken as its client's.
 */
export function familyPredatesClient(grant: UserGrant, client: Pick<Client, "client_id_issued_at">): boolean {
  return grant.issuedAt !== undefined && issuedBeforeClient(client, grant.issuedAt);
}

/** Checks the shape before any object is touched; the family id is only ever used with idFromName. */
function parseFamilyId(presented: string): string {
  if (presented.length !== REFRESH_TOKEN_LENGTH || !REFRESH_TOKEN_PATTERN.test(presented)) {
    throw new InvalidGrant("refresh token is invalid");
  }
  return presented.slice(0, 22);
}

function familyStub(env: Bindings, familyId: string) {
  return env.REFRESH_TOKENS.get(env.REFRESH_TOKENS.idFromName(`rt:${familyId}`));
}

/**
 * Revokes a whole family, e.g. when the authorization code that started it is used twice. A
 * family not started yet never will be: the tombstone is kept as long as the family would have
 * lived, far longer than any exchange that could still be starting it.
 */
export async function revokeRefreshFamily(ctx: RequestContext, familyId: string): Promise<void> {
  await familyStub(ctx.env, familyId).revoke(Math.floor(Date.now() / 1000) + ctx.settings.refreshTokenTtl);
}

/** Whether `presented` has the shape of one of our refresh tokens (nothing is looked up). */
export function looksLikeRefreshToken(presented: string): boolean {
  return presented.length === REFRESH_TOKEN_LENGTH && REFRESH_TOKEN_PATTERN.test(presented);
}

/**
 * RFC 7662: the grant of a refresh token that is still good — its family's current token, the
 * family neither revoked nor expired, its grant not listed in revoked_grants (reuse, revocation,
 * sign-out), and its user still there. Undefined for anything else, without saying why. Whether
 * its client is still the one it was issued to is the caller's to ask (familyPredatesClient).
 */
export async function inspectRefreshToken(
  ctx: RequestContext,
  presented: string,
): Promise<{ grant: UserGrant; expiresAt: number } | undefined> {
  if (!looksLikeRefreshToken(presented)) return undefined;
  const familyId = presented.slice(0, 22);
  const found = await familyStub(ctx.env, familyId).inspect(await sha256Hex(presented), Math.floor(Date.now() / 1000));
  if (!found) return undefined;
  if (found.grant.grantId && (await isGrantRevoked(ctx.env.DB, found.grant.grantId))) return undefined;
  if (!(await ctx.stores.users.findBySubject(found.grant.subject))) return undefined;
  return found;
}

/**
 * RFC 7009 §2.1: revokes the family of `presented` when it was issued to `clientId`, and with it
 * the grant's access tokens ("SHOULD also invalidate all access tokens based on the same
 * authorization grant"). "foreign" when it belongs to another client (nothing changes);
 * "unknown" for anything that is not a live token.
 */
export async function revokeRefreshToken(
  ctx: RequestContext,
  presented: string,
  clientId: string,
): Promise<"revoked" | "unknown" | "foreign"> {
  if (!looksLikeRefreshToken(presented)) return "unknown";
  const familyId = presented.slice(0, 22);
  const result = await familyStub(ctx.env, familyId).revokeByToken(await sha256Hex(presented), clientId);
  if (result.outcome !== "revoked") return result.outcome;
  if (result.grant.grantId) await revokeGrant(ctx.env.DB, result.grant.grantId, "revocation", ctx.settings);
  return "revoked";
}
