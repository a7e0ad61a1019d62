/**
 * Access tokens revoked one at a time (RFC 7009 §2): those that belong to no user grant, which
 * `revoked_grants` cannot reach — client_credentials tokens. Listed by `jti` in D1 (strongly
 * consistent: the next request at any location sees the row) until the token's own `exp`, after
 * which the signature check refuses the token anyway. Only the jti is stored, never the token.
 *
 * edge-op's own resource endpoints (src/tokens/bearer.ts) and introspection consult this list;
 * a resource server that only verifies the JWT's signature cannot see it and accepts the token
 * until it expires (README, "Revoking tokens").
 */

/** Lists `jti` as revoked until `expiresAt` (epoch seconds) and prunes rows that no longer matter. */
export async function revokeAccessToken(
  db: D1Database,
  token: { jti: string; clientId: string; expiresAt: number },
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await db.batch([
    db.prepare("DELETE FROM revoked_access_tokens WHERE expires_at < ?").bind(now),
    db
      .prepare(
        `INSERT INTO revoked_access_tokens (jti, client_id, revoked_at, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (jti) DO NOTHING`,
      )
      .bind(token.jti, token.clientId, now, token.expiresAt),
  ]);
}

/** Whether the access token `jti` was revoked (rows of expired tokens may linger; they no longer matter). */
export async function isAccessTokenRevoked(db: D1Database, jti: string): Promise<boolean> {
  const row = await db.prepare("SELECT 1 AS revoked FROM revoked_access_tokens WHERE jti = ?").bind(jti).first();
  return row !== null;
}
