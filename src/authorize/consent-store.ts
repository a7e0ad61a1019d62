/** Remembered consent (D1 table `consents`): the scopes a user approved for a client. */
import { arrayOf, json, object, readStored, str } from "../parse";

const consentRecord = object<{ scopes: string[] }>({ scopes: json(arrayOf(str)) });

export class ConsentStore {
  constructor(private readonly db: D1Database) {}

  /** The scopes remembered; none when there is no row, or one that does not parse (logged). */
  private async granted(subject: string, clientId: string): Promise<string[]> {
    const row = await this.db
      .prepare("SELECT scopes FROM consents WHERE subject = ? AND client_id = ?")
      .bind(subject, clientId)
      .first();
    return (row ? readStored("consents", consentRecord, row)?.scopes : undefined) ?? [];
  }

  /** True when the user already approved every one of `scopes` for the client. */
  async covers(subject: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    const granted = await this.granted(subject, clientId);
    return scopes.every((s) => granted.includes(s));
  }

  /** Adds `scopes` to what the user approved for the client. */
  async grant(subject: string, clientId: string, scopes: readonly string[]): Promise<void> {
    const merged = [...new Set([...(await this.granted(subject, clientId)), ...scopes])];
    await this.db
      .prepare(
        "INSERT INTO consents (subject, client_id, scopes, granted_at) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
      )
      .bind(subject, clientId, JSON.stringify(merged), Math.floor(Date.now() / 1000))
      .run();
  }
}
