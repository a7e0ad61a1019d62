/**
 * Passkeys in D1 (migrations/0050_passkeys.sql): public keys only. Every row read is parsed
 * (parsePasskeyCredential), never cast; a row that does not parse counts as absent. Updating a
 * credential after use is a compare-and-set on the whole record, so two concurrent sign-ins
 * with the same assertion counter cannot both store a newer state unnoticed.
 */
import { logger } from "../log";
import { newUserHandle, type PasskeyCredential, parsePasskeyCredential } from "./credential";

export class PasskeyStore {
  constructor(private readonly db: D1Database) {}

  /** The user's WebAuthn user handle, made on first use. */
  async userHandle(subject: string): Promise<string> {
    await this.db
      .prepare("INSERT OR IGNORE INTO passkey_user_handles (subject, user_handle) VALUES (?, ?)")
      .bind(subject, newUserHandle())
      .run();
    const row = await this.db
      .prepare("SELECT user_handle FROM passkey_user_handles WHERE subject = ?")
      .bind(subject)
      .first<{ user_handle: unknown }>();
    if (typeof row?.user_handle !== "string") throw new Error("no user handle stored");
    return row.user_handle;
  }

  async list(subject: string): Promise<PasskeyCredential[]> {
    const { results } = await this.db
      .prepare("SELECT record FROM passkey_credentials WHERE subject = ? ORDER BY created_at, id")
      .bind(subject)
      .all<{ record: unknown }>();
    return results.flatMap((row) => {
      const parsed = parseRow(row.record);
      return parsed ? [parsed] : [];
    });
  }

  async find(id: string): Promise<PasskeyCredential | undefined> {
    const row = await this.db
      .prepare("SELECT record FROM passkey_credentials WHERE id = ?")
      .bind(id)
      .first<{ record: unknown }>();
    return row ? parseRow(row.record) : undefined;
  }

  /** False when a credential with that id exists already. */
  async insert(credential: PasskeyCredential): Promise<boolean> {
    const result = await this.db
      .prepare("INSERT OR IGNORE INTO passkey_credentials (id, subject, record, created_at) VALUES (?, ?, ?, ?)")
      .bind(credential.id, credential.subject, JSON.stringify(credential), credential.createdAt)
      .run();
    return result.meta.changes > 0;
  }

  /** Stores the state after a use, only if the row is still `before`; false if it changed meanwhile. */
  async replace(before: PasskeyCredential, after: PasskeyCredential): Promise<boolean> {
    const result = await this.db
      .prepare("UPDATE passkey_credentials SET record = ? WHERE id = ? AND record = ?")
      .bind(JSON.stringify(after), before.id, JSON.stringify(before))
      .run();
    return result.meta.changes > 0;
  }

  async remove(subject: string, id: string): Promise<boolean> {
    const result = await this.db
      .prepare("DELETE FROM passkey_credentials WHERE id = ? AND subject = ?")
      .bind(id, subject)
      .run();
    return result.meta.changes > 0;
  }
}

function parseRow(record: unknown): PasskeyCredential | undefined {
  if (typeof record !== "string") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    value = undefined;
  }
  const parsed = parsePasskeyCredential(value);
  if (parsed.ok) return parsed.value;
  logger.error("storage_record_malformed", { store: "passkey_credentials", problem: parsed.error });
  return undefined;
}
