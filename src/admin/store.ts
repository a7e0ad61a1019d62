/**
 * The administration console's own D1 tables (migrations/0060_admin_console.sql): the admin
 * role, the idle clock of admin sessions and their passkey step-up (0097), and the audit
 * trail. Rows are parsed, not cast.
 */
import { int, nullable, object, type Parser, readStored, str } from "../parse";

export interface AuditEntry {
  id: number;
  at: number;
  /** The admin's `sub`, or `client:<client_id>` for an operator client of the API. */
  actor: string;
  action: string;
  target: string;
  detail: string;
}

const auditRecord: Parser<AuditEntry> = object<AuditEntry>({
  id: int,
  at: int,
  actor: str,
  action: str,
  target: str,
  detail: str,
});

/** An admin session on a console request: idle (to be ended), or active and whether it stepped up with a passkey. */
export type AdminActivity = { state: "idle" } | { state: "active"; passkeyConfirmed: boolean };

const activityRow = object<{ last_seen_at: number; passkey_at: number | undefined }>({
  last_seen_at: int,
  passkey_at: nullable(int),
});

export class AdminStore {
  constructor(private readonly db: D1Database) {}

  async isAdmin(sub: string): Promise<boolean> {
    const row = await this.db.prepare("SELECT 1 AS yes FROM admin_roles WHERE sub = ?").bind(sub).first();
    return row !== null;
  }

  async grant(sub: string): Promise<void> {
    await this.db.prepare("INSERT OR IGNORE INTO admin_roles (sub, granted_at) VALUES (?, ?)").bind(sub, now()).run();
  }

  /**
   * Records a console request of session `sid` and says whether the session was still active:
   * idle when the previous console request (or, for the first one, the sign-in at `authTime`)
   * is more than `idleTimeout` seconds ago. An idle session's clock is not moved. Also says
   * whether the session confirmed with a passkey (confirmPasskey).
   */
  async touch(sid: string, authTime: number, idleTimeout: number): Promise<AdminActivity> {
    const at = now();
    const row = await this.db
      .prepare("SELECT last_seen_at, passkey_at FROM admin_session_activity WHERE sid = ?")
      .bind(sid)
      .first();
    const stored = row ? readStored("admin_session_activity", activityRow, row) : undefined;
    const last = row ? stored?.last_seen_at : authTime;
    // A row that does not parse counts as idle: the admin signs in again.
    if (last === undefined || at - last > idleTimeout) return { state: "idle" };
    await this.db
      .prepare(
        "INSERT INTO admin_session_activity (sid, last_seen_at) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET last_seen_at = excluded.last_seen_at",
      )
      .bind(sid, at)
      .run();
    return { state: "active", passkeyConfirmed: stored?.passkey_at !== undefined };
  }

  /**
   * Records that session `sid` confirmed with a passkey (a verified assertion bound to the
   * console and this session): from now on its console requests pass the step-up.
   */
  async confirmPasskey(sid: string): Promise<void> {
    const at = now();
    await this.db
      .prepare(
        "INSERT INTO admin_session_activity (sid, last_seen_at, passkey_at) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET passkey_at = excluded.passkey_at",
      )
      .bind(sid, at, at)
      .run();
  }

  /** The statement that writes one audit row, to batch with the change it records. */
  auditStatement(actor: string, action: string, target: string, detail = ""): D1PreparedStatement {
    return this.db
      .prepare("INSERT INTO admin_audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
      .bind(now(), actor, action, target, detail.slice(0, 500));
  }

  /** Newest first; `before` pages back by id. */
  async auditTrail(limit: number, before?: number): Promise<AuditEntry[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM admin_audit WHERE id < ? ORDER BY id DESC LIMIT ?")
      .bind(before ?? Number.MAX_SAFE_INTEGER, limit)
      .all();
    return results.flatMap((row) => readStored("admin_audit", auditRecord, row) ?? []);
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
