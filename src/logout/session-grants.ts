/**
 * Which grants were issued in which browser session (D1 table `session_grants`, migration 0045):
 * what sign-out must notify (Back-Channel Logout §2.6: "each RP that the End-User is logged
 * into") and revoke, what the account page lists, and what removing a user or a client clears.
 * Only ids are kept; no token or secret.
 *
 * CIBA grants (issue 18) are not rows here: the user's answer, kept in the user's own Durable
 * Object in place of the request's pending entry, names the grant, its refresh-token family and
 * the sid of the session that approved (src/users/user-object.ts). So a CIBA flow writes nothing
 * to D1, and the look-ups that know the user (`forSubject`, `forSession` with the subject) add
 * those grants; `forClient` cannot (it would have to ask every user's object), see
 * docs/storage-schema.md.
 */
import { pendingListOf } from "../ciba/user-list";
import type { Bindings } from "../env";
import { arrayOf, bit, int, json, nullable, object, type Parser, readStored, str } from "../parse";
import type { AnsweredRequest } from "../users/user-object";

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

/** An approved CIBA request's grant, from the user's answer entry; undefined for a denial or a revoked grant. */
function cibaGrantOf(subject: string, { request, answer }: AnsweredRequest): SessionGrant | undefined {
  if (answer.decision !== "approved" || !answer.grantId || answer.revoked) return undefined;
  return {
    sid: answer.sessionId ?? "",
    subject,
    clientId: request.clientId,
    grantId: answer.grantId,
    familyId: answer.refreshFamilyId,
    offlineAccess: answer.scopes.includes("offline_access"),
    scopes: answer.scopes,
    createdAt: answer.decidedAt,
  };
}

export class SessionGrantStore {
  constructor(
    private readonly db: D1Database,
    /** The user objects' binding, for CIBA grants (without it, only D1's rows are seen). */
    private readonly users?: Pick<Bindings, "USERS">,
  ) {}

  /** The user's approved CIBA grants still kept in the user's object (optionally of one client). */
  private async cibaGrants(subject: string, clientId?: string): Promise<SessionGrant[]> {
    if (!this.users) return [];
    const answers = await (await pendingListOf(this.users, subject)).answers();
    return answers.flatMap((answered) => {
      const grant = cibaGrantOf(subject, answered);
      return grant && (clientId === undefined || grant.clientId === clientId) ? [grant] : [];
    });
  }

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

  /** The grants given in session `sid`; with the session's `subject`, its CIBA approvals too. */
  async forSession(sid: string, subject?: string): Promise<SessionGrant[]> {
    const { results } = await this.db
      .prepare(`SELECT ${COLUMNS} FROM session_grants WHERE sid = ? AND expires_at > ?`)
      .bind(sid, now())
      .all();
    const ciba = subject === undefined ? [] : (await this.cibaGrants(subject)).filter((grant) => grant.sid === sid);
    return [...fromRows(results), ...ciba];
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
    const [rows, ciba] = await Promise.all([statement.all(), this.cibaGrants(subject, clientId)]);
    return [...fromRows(rows.results), ...ciba].sort((a, b) => b.createdAt - a.createdAt);
  }

  async forClient(clientId: string): Promise<SessionGrant[]> {
    const { results } = await this.db
      .prepare(`SELECT ${COLUMNS} FROM session_grants WHERE client_id = ? AND expires_at > ?`)
      .bind(clientId, now())
      .all();
    return fromRows(results);
  }

  /**
   * Forgets the rows of grants that were revoked (those kept still belong to the user's account
   * page); with the user's `subject`, also marks their CIBA answers revoked (the answer stays
   * in the user's history, no longer a live grant).
   */
  async deleteGrants(grantIds: string[], subject?: string): Promise<void> {
    if (grantIds.length === 0) return;
    await this.db.batch(
      grantIds.map((id) => this.db.prepare("DELETE FROM session_grants WHERE grant_id = ?").bind(id)),
    );
    if (subject !== undefined && this.users) await (await pendingListOf(this.users, subject)).markRevoked(grantIds);
  }

  async deleteExpired(): Promise<void> {
    await this.db.prepare("DELETE FROM session_grants WHERE expires_at <= ?").bind(now()).run();
  }
}
