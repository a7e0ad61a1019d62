/** Remembered consent (D1 table `consents`): the scopes a user approved for a client. */

export class ConsentStore {
  constructor(private readonly db: D1Database) {}

  /** True when the user already approved every one of `scopes` for the client. */
  async covers(subject: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    const row = await this.db
      .prepare("SELECT scopes FROM consents WHERE subject = ? AND client_id = ?")
      .bind(subject, clientId)
      .first<{ scopes: string }>();
    if (!row) return false;
    const granted = JSON.parse(row.scopes) as string[];
    return scopes.every((s) => granted.includes(s));
  }

  /** Adds `scopes` to what the user approved for the client. */
  async grant(subject: string, clientId: string, scopes: readonly string[]): Promise<void> {
    const row = await this.db
      .prepare("SELECT scopes FROM consents WHERE subject = ? AND client_id = ?")
      .bind(subject, clientId)
      .first<{ scopes: string }>();
    const merged = [...new Set([...(row ? (JSON.parse(row.scopes) as string[]) : []), ...scopes])];
    await this.db
      .prepare(
        "INSERT INTO consents (subject, client_id, scopes, granted_at) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
      )
      .bind(subject, clientId, JSON.stringify(merged), Math.floor(Date.now() / 1000))
      .run();
  }
}
