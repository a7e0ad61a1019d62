/**
 * Client operations of the console and its API, on D1 table `clients`. Every change is one D1
 * batch with its audit row, so there is no change without a record of who made it.
 */
import type { Client, ClientRegistration } from "../clients/metadata";
import { CLIENT_COLUMNS, clientRow, readClientRow } from "../clients/registry";
import { randomHandle } from "../crypto/hash";
import { clientRemovalStatements } from "../logout/removal";
import type { AdminStore } from "./store";

export interface AdminClient {
  client: Client;
  disabledAt: number | null;
  createdAt: number;
}

export class ClientConflictError extends Error {
  override name = "ClientConflictError";
}

export class ClientAdmin {
  constructor(
    private readonly db: D1Database,
    private readonly admin: AdminStore,
    private readonly dataEncryptionKey: string | undefined,
  ) {}

  /** Clients whose id or name contains `search` (all when empty), by id. */
  async list(search = "", limit = 200): Promise<AdminClient[]> {
    const like = `%${search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    const { results } = await this.db
      .prepare(
        "SELECT * FROM clients WHERE client_id LIKE ?1 ESCAPE '\\' OR client_name LIKE ?1 ESCAPE '\\' ORDER BY client_id LIMIT ?2",
      )
      .bind(like, limit)
      .all();
    return results.flatMap((row) => adminClientOf(row) ?? []);
  }

  async get(clientId: string): Promise<AdminClient | undefined> {
    const row = await this.db.prepare("SELECT * FROM clients WHERE client_id = ?").bind(clientId).first();
    return row ? adminClientOf(row) : undefined;
  }

  /** A secret for a new secret-based client: 256 random bits, shown once, stored hashed. */
  static newSecret(): string {
    return randomHandle(32);
  }

  /** Inserts a validated registration; ClientConflictError when the id is taken. */
  async create(reg: ClientRegistration, actor: string): Promise<void> {
    if (await this.get(reg.client_id)) throw new ClientConflictError(`client ${reg.client_id} exists`);
    const row = await clientRow(reg, this.dataEncryptionKey);
    await this.db.batch([
      this.db
        .prepare(
          `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
        )
        .bind(...CLIENT_COLUMNS.map((column) => row[column])),
      this.admin.auditStatement(actor, "client.create", reg.client_id, reg.token_endpoint_auth_method),
    ]);
  }

  /**
   * Replaces a client's metadata with a validated registration, keeping its stored secret (hash
   * and ciphertext) and creation time: editing never shows or changes the secret.
   */
  async update(reg: ClientRegistration, actor: string): Promise<void> {
    const row = await clientRow({ ...reg, client_secret: undefined }, this.dataEncryptionKey);
    const kept = new Set<string>(["client_id", "client_secret_hash", "client_secret_encrypted", "created_at"]);
    const columns = CLIENT_COLUMNS.filter((column) => !kept.has(column));
    await this.db.batch([
      this.db
        .prepare(`UPDATE clients SET ${columns.map((column) => `${column} = ?`).join(", ")} WHERE client_id = ?`)
        .bind(...columns.map((column) => row[column]), reg.client_id),
      this.admin.auditStatement(actor, "client.update", reg.client_id),
    ]);
  }

  async setDisabled(clientId: string, disabled: boolean, actor: string): Promise<void> {
    await this.db.batch([
      this.db
        .prepare("UPDATE clients SET disabled_at = ? WHERE client_id = ?")
        .bind(disabled ? Math.floor(Date.now() / 1000) : null, clientId),
      this.admin.auditStatement(actor, disabled ? "client.disable" : "client.enable", clientId),
    ]);
  }

  async remove(clientId: string, actor: string): Promise<void> {
    await this.db.batch([
      // Its consents and token families go with it (issue 15).
      ...clientRemovalStatements(this.db, clientId),
      this.db.prepare("DELETE FROM clients WHERE client_id = ?").bind(clientId),
      this.admin.auditStatement(actor, "client.remove", clientId),
    ]);
  }
}

function adminClientOf(row: Record<string, unknown>): AdminClient | undefined {
  const client = readClientRow(row);
  if (!client) return undefined;
  const disabledAt = typeof row.disabled_at === "number" ? row.disabled_at : null;
  const createdAt = typeof row.created_at === "number" ? row.created_at : 0;
  return { client, disabledAt, createdAt };
}
