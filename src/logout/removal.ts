/**
 * What removing a client takes with it, as D1 statements to run in the same batch as the
 * client's DELETE (the administration console; the admin tool runs the same SQL as text,
 * scripts/lib/removal.ts). Refresh-token families live in Durable Objects, so each grant
 * recorded for the client in session_grants is listed in revoked_grants instead (reason
 * client_removed): the refresh_token grant refuses such a family, and edge-op's endpoints and
 * introspection refuse its access tokens. The listing lasts until the last token of the grant
 * could expire (the row's own expiry plus the longest ACCESS_TOKEN_TTL, 86400 s).
 */

const LONGEST_ACCESS_TOKEN_TTL = 86_400;

export function clientRemovalStatements(
  db: D1Database,
  clientId: string,
  now = Math.floor(Date.now() / 1000),
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO revoked_grants (grant_id, revoked_at, expires_at, reason)
         SELECT grant_id, ?, expires_at + ?, 'client_removed' FROM session_grants
         WHERE client_id = ? AND expires_at > ?
         ON CONFLICT (grant_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
      )
      .bind(now, LONGEST_ACCESS_TOKEN_TTL, clientId, now),
    db.prepare("DELETE FROM session_grants WHERE client_id = ?").bind(clientId),
    db.prepare("DELETE FROM consents WHERE client_id = ?").bind(clientId),
  ];
}
