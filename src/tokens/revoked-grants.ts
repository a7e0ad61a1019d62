/**
 * Revoking a user's grant, access tokens included. Access tokens are self-contained JWTs, so
 * revoking the refresh-token family alone would leave the access tokens already issued from
 * the grant valid until they expire. Every access token from a user grant therefore carries the
 * grant's random id (`grant_id`); revoking the grant writes that id to D1 (strongly consistent:
 * the next request at any location sees it), and this provider's resource endpoints refuse
 * tokens whose grant is listed (src/tokens/bearer.ts).
 *
 * Revoked when someone replays what only one party should hold: an authorization code used a
 * second time (RFC 6749 §4.1.2: "SHOULD revoke … all tokens previously issued based on that
 * authorization code") or a rotated refresh token presented again (OAuth 2.0 Security BCP
 * §4.14.2). A row is needed only while a token of the grant can still be unexpired: refresh
 * tokens included, since the refresh_token grant checks this list too (a second barrier beside
 * the family's own revoked flag).
 */
import type { Settings } from "../config";
import { logger } from "../log";

/**
 * Why a grant was revoked; migration 0040 lists every value (the sign-out and account-page
 * reasons are allowed there for the work that adds them).
 */
export type RevocationReason =
  | "authorization_code_reuse"
  | "refresh_token_reuse"
  /** RFC 7009: the client revoked one of the grant's tokens at /revoke. */
  | "revocation"
  /** Sign-out (RP-initiated, back-channel or the sign-out button): the session's grants without offline_access. */
  | "logout"
  /** The user withdrew the client on the account page. */
  | "withdrawn"
  /** The admin tool removed the client or the user. */
  | "client_removed"
  | "user_removed";

/**
 * How long a revocation must be remembered: the grant's refresh-token family was started no
 * later than now (a family revoked before it starts never starts), so it expires within
 * REFRESH_TOKEN_TTL, and an access token minted by a refresh in its last second lives
 * ACCESS_TOKEN_TTL longer.
 */
export function revocationLifetime(settings: Pick<Settings, "accessTokenTtl" | "refreshTokenTtl">): number {
  return settings.refreshTokenTtl + settings.accessTokenTtl;
}

/**
 * Lists `grantId` as revoked for `revocationLifetime(settings)`, until no token of the grant
 * can still be valid, and prunes rows that no longer matter.
 */
export async function revokeGrant(
  db: D1Database,
  grantId: string,
  reason: RevocationReason,
  settings: Pick<Settings, "accessTokenTtl" | "refreshTokenTtl">,
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await db.batch([
    db.prepare("DELETE FROM revoked_grants WHERE expires_at < ?").bind(now),
    db
      .prepare(
        `INSERT INTO revoked_grants (grant_id, revoked_at, expires_at, reason) VALUES (?, ?, ?, ?)
         ON CONFLICT (grant_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
      )
      .bind(grantId, now, now + revocationLifetime(settings), reason),
  ]);
  logger.warn("grant_revoked", { grant_id: grantId, reason });
}

/** Whether `grantId` is listed and its row has not expired (rows are pruned only lazily). */
export async function isGrantRevoked(db: D1Database, grantId: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS revoked FROM revoked_grants WHERE grant_id = ? AND expires_at > ?")
    .bind(grantId, Math.floor(Date.now() / 1000))
    .first();
  return row !== null;
}
