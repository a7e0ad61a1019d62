/**
 * D1 storage of dynamic registration (migration 0041): the operator's initial access tokens
 * (`registration_tokens`) and each dynamically registered client's registration access token
 * (`clients.registration_access_token_hash`). Tokens are stored only as SHA-256 hex and looked up
 * by that hash. D1 is strongly consistent, so a token the operator created, or a client just
 * deleted, is seen at once at every location; the provider's client cache (CLIENT_CACHE_SECONDS)
 * may still serve a changed or deleted registration that long to the other endpoints.
 */
import { sha256Hex } from "../crypto/hash";
import { int, object, readStored, str } from "../parse";

/** Whether `token` is an unexpired initial access token (RFC 7591 §3). */
export async function isInitialAccessToken(db: D1Database, token: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS ok FROM registration_tokens WHERE token_hash = ? AND expires_at > ?")
    .bind(await sha256Hex(token), Math.floor(Date.now() / 1000))
    .first();
  return row !== null;
}

/** Stores an initial access token's hash until `expiresAt`, pruning expired ones (the admin tool does the same in SQL). */
export async function storeInitialAccessToken(
  db: D1Database,
  token: string,
  expiresAt: number,
  label: string | null = null,
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await db.batch([
    db.prepare("DELETE FROM registration_tokens WHERE expires_at <= ?").bind(now),
    db
      .prepare("INSERT INTO registration_tokens (token_hash, label, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .bind(await sha256Hex(token), label, now, expiresAt),
  ]);
}

export interface ManagedClientRow {
  client_id: string;
  created_at: number;
}

const managedRow = object<ManagedClientRow>({ client_id: str, created_at: int });

/**
 * The client `clientId` if `registrationAccessToken` is its registration access token (RFC 7592
 * §3); undefined for an unknown client, a wrong token, or a client the operator registered.
 */
export async function findManagedClient(
  db: D1Database,
  clientId: string,
  registrationAccessToken: string,
): Promise<ManagedClientRow | undefined> {
  const row = await db
    .prepare("SELECT client_id, created_at FROM clients WHERE client_id = ? AND registration_access_token_hash = ?")
    .bind(clientId, await sha256Hex(registrationAccessToken))
    .first();
  return row ? readStored("clients", managedRow, row) : undefined;
}
