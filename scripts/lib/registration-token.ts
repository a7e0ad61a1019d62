/**
 * The SQL of `npm run admin -- registration-token create` (RFC 7591 §3: the initial access token
 * an operator hands out for POST /register): expired tokens are pruned, and the new one is stored
 * only as its SHA-256 hex digest, with its label and expiry, where
 * src/registration/registration-store.ts looks it up. The token itself is never written.
 */
import { insertStatement, sqlLiteral } from "./sql.ts";

export function registrationTokenStatements(
  tokenHash: string,
  options: { label?: string; lifetime: number; now?: number },
): { statements: string[]; expiresAt: number } {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const row = {
    token_hash: tokenHash,
    label: options.label ?? null,
    created_at: now,
    expires_at: now + options.lifetime,
  };
  return {
    statements: [
      `DELETE FROM registration_tokens WHERE expires_at <= ${sqlLiteral(now)};`,
      insertStatement("registration_tokens", row),
    ],
    expiresAt: row.expires_at,
  };
}
