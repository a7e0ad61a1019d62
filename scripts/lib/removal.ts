/**
 * What removing a client or a user takes with it (issue 15), as SQL for `wrangler d1 execute`:
 * its remembered consents, its browser sessions (a user's) and its token families. The admin
 * tool reaches only D1, not the Durable Objects that hold refresh-token families, so each grant
 * recorded in session_grants is listed in revoked_grants instead: the refresh_token grant
 * refuses a family whose grant is listed (and revokes it then), and edge-op's resource endpoints
 * and introspection refuse the grant's access tokens. A listing lasts until the last token of
 * the grant could expire: the row's own expiry (issue + REFRESH_TOKEN_TTL) plus the longest
 * ACCESS_TOKEN_TTL allowed (86400 s).
 */
import { sqlLiteral } from "./sql.ts";

const LONGEST_ACCESS_TOKEN_TTL = 86_400;

function revokeGrantsWhere(condition: string, reason: "client_removed" | "user_removed", now: number): string {
  return `INSERT INTO revoked_grants (grant_id, revoked_at, expires_at, reason)
  SELECT grant_id, ${now}, expires_at + ${LONGEST_ACCESS_TOKEN_TTL}, ${sqlLiteral(reason)} FROM session_grants
  WHERE ${condition} AND expires_at > ${now}
  ON CONFLICT (grant_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at);`;
}

/** Runs before the client's row is deleted. */
export function clientRemovalStatements(clientId: string, now = Math.floor(Date.now() / 1000)): string[] {
  const id = sqlLiteral(clientId);
  return [
    revokeGrantsWhere(`client_id = ${id}`, "client_removed", now),
    `DELETE FROM session_grants WHERE client_id = ${id};`,
    `DELETE FROM consents WHERE client_id = ${id};`,
  ];
}

/** Runs before the user's row is deleted (it finds the user's subject by username). */
export function userRemovalStatements(username: string, now = Math.floor(Date.now() / 1000)): string[] {
  const subject = `(SELECT sub FROM users WHERE username = ${sqlLiteral(username)})`;
  return [
    revokeGrantsWhere(`subject = ${subject}`, "user_removed", now),
    `DELETE FROM session_grants WHERE subject = ${subject};`,
    `DELETE FROM consents WHERE subject = ${subject};`,
    `DELETE FROM sessions WHERE subject = ${subject};`,
  ];
}
