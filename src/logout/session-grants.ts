/**
 * Which grants were issued in which browser session (D1 table `session_grants`, migration 0045):
 * what sign-out must notify (Back-Channel Logout §2.6: "each RP that the End-User is logged
 * into") and revoke, what the account page lists, and what removing a user or a client clears.
 * Only ids are kept; no token or secret.
 */
import { arrayOf, bit, int, json, nullable, object, type Parser, readStored, str } from "../parse";

export interface SessionGrant {
  sid: string;
  subject: string;
  clientId: string;
  grantId: string;
  familyId?: string;
  /** The grant has offline_access: its refresh tokens outlive the session. */
  offlineAccess: boolean;
  scopes: string[];
  createdAt: number;
}

interface Row {
  sid: string;
  subject: string;
  client_id: string;
  grant_id: string;
  family_id: string | undefined;
  offline_access: boolean;
  scopes: string[];
  created_at: number;
}

const row: Parser<Row> = object<Row>({
  sid: str,
  subject: str,
  client_id: str,
  grant_id: str,
  family_id: nullable(str),
  offline_access: bit,
  scopes: json(arrayOf(str)),
  created_at: int,
});

const COLUMNS = "sid, subject, client_id, grant_id, family_id, offline_access, scopes, created_at";

function fromRows(results: unknown[]): SessionGrant[] {
  const grants: SessionGrant[] = [];
  for (const value of results) {
    // A row that does not parse is skipped (logged): it names nothing to notify or revoke.
    const parsed = readStored("session_grants", row, value);
    if (!parsed) continue;
    grants.push({
      sid: parsed.sid,
      subject: parsed.subject,
      clientId: parsed.client_id,
      grantId: parsed.grant_id,
      familyId: parsed.family_id,
      offlineAccess: parsed.offline_access,
      scopes: parsed.scopes,
      createdAt: parsed.created_at,
    });
  }
  return grants;
}

const now = () => Math.floor(Date.now() / 1000);

export class SessionGrantStore {
  constructor(private readonly db: D1Database) {}

  /** Records a grant issued in session `sid`; kept for `lifetime` seconds (REFRESH_TOKEN_TTL). */
  async record(grant: Omit<SessionGrant, "createdAt">, lifetime: number): Promise<void> {
    const at = now();
    await this.db
      .prepare(`INSERT OR IGNORE INTO session_grants (${COLUMNS}, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .bind(
        grant.sid,
        grant.subject,
        grant.clientId,
        grant.grantId,
        grant.familyId ?? null,
        grant.offlineAccess ? 1 : 0,
        JSON.stringify(grant.scopes),
        at,
        at + lifetime,
      )
      .run();
  }

  async forSession(sid: string): Promise<SessionGrant[]> {
    const { results } = await this.db
      .prepare(`SELECT ${COLUMNS} FROM session_grants WHERE sid = ? AND expires_at > ?`)
      .bind(sid, now())
      .all();
    return fromRows(results);
  }

  async forSubject(subject: string, clientId?: string): Promise<SessionGrant[]> {
    const statement = clientId
      ? this.db
          .prepare(
            `SELECT ${COLUMNS} FROM session_grants WHERE subject = ? AND client_id = ? AND expires_at > ? ORDER BY created_at DESC`,
          )
          .bind(subject, clientId, now())
      : this.db
          .prepare(
            `SELECT ${COLUMNS} FROM session_grants WHERE subject = ? AND expires_at > ? ORDER BY created_at DESC`,
          )
          .bind(subject, now());
    return fromRows((await statement.all()).results);
  }

  async forClient(clientId: string): Promise<SessionGrant[]> {
    const { results } = await this.db
      .prepare(`SELECT ${COLUMNS} FROM session_grants WHERE client_id = ? AND expires_at > ?`)
      .bind(clientId, now())
      .all();
    return fromRows(results);
  }

  /** Forgets the session's rows that were revoked (those kept still belong to the user's account page). */
  async deleteGrants(grantIds: string[]): Promise<void> {
    if (grantIds.length === 0) return;
    await this.db.batch(
      grantIds.map((id) => this.db.prepare("DELETE FROM session_grants WHERE grant_id = ?").bind(id)),
    );
  }

  async deleteExpired(): Promise<void> {
    await this.db.prepare("DELETE FROM session_grants WHERE expires_at <= ?").bind(now()).run();
  }
}
