/**
 * Remembers the `jti` of every JWT a client sends (client assertions, signed backchannel
 * requests, request objects pushed to /par) for as long as that JWT could still be accepted,
 * so that a captured one cannot be replayed; it also fences the one-time use of pushed
 * authorization requests (src/par/pushed-request-store.ts). Claims go through
 * ./client-jwt-ids.ts. KV cannot do this: it is eventually
 * consistent and a second edge location would accept the replay. One Durable Object per client
 * (`idFromName("jti:" + client_id)`) is strongly consistent, and `claim` is a synchronous
 * read-check-write, which the runtime runs atomically.
 */
import { DurableObject } from "cloudflare:workers";
import { int, object, readStored, str } from "../parse";

const expiryRow = object<{ expires_at: number }>({ expires_at: int });

interface HeldRow {
  value: string;
  open_by: number;
  state: string;
  expires_at: number;
}
const heldRow = object<HeldRow>({ value: str, open_by: int, state: str, expires_at: int });

export type OpenState = "open" | "spent" | "expired";

export class ReplayGuard extends DurableObject<object> {
  private readonly sql: SqlStorage;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS seen_jti (jti_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    // A pushed request's encrypted copy and its fence in one row (hold, openHeld, claimHeld).
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS held_request (ref_hash TEXT PRIMARY KEY, value TEXT NOT NULL, open_by INTEGER NOT NULL, state TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    );
  }

  /**
   * Holds a pushed request's encrypted value beside its fence, the strongly consistent copy
   * /authorize reads when KV misses (KV may lag, and cache the miss, for up to 60 s at another
   * location). One row, which the open and spend steps then update in place, so a request costs
   * one stored row here and one clean-up delete. Kept until `keepUntil` (epoch seconds).
   */
  async hold(refHash: string, value: string, openBy: number, keepUntil: number): Promise<void> {
    this.sql.exec(
      "INSERT OR IGNORE INTO held_request (ref_hash, value, open_by, state, expires_at) VALUES (?, ?, ?, 'pushed', ?)",
      refHash,
      value,
      openBy,
      keepUntil,
    );
    void this.scheduleCleanup(keepUntil);
  }

  /**
   * `open` for a held request: the state and, when open, the held value. Undefined when nothing
   * is held (a request pushed before copies were held: the caller uses `open`). One atomic step.
   */
  async openHeld(refHash: string, openUntil: number): Promise<{ state: OpenState; value?: string } | undefined> {
    const row = this.heldRow(refHash);
    if (row === undefined) return undefined;
    const now = Math.floor(Date.now() / 1000);
    if (row.state !== "pushed" && row.state !== "open") return { state: "spent" };
    if (row.state === "open") return row.expires_at >= now ? { state: "open", value: row.value } : { state: "expired" };
    if (row.open_by <= now) return { state: "expired" };
    this.sql.exec(
      "UPDATE held_request SET state = 'open', expires_at = MAX(expires_at, ?) WHERE ref_hash = ?",
      openUntil,
      refHash,
    );
    void this.scheduleCleanup(openUntil);
    return { state: "open", value: row.value };
  }

  /**
   * `claim` for a held request: false if already spent, undefined when nothing is held. The
   * value is dropped with the spend: only the fence is still needed.
   */
  async claimHeld(refHash: string, spentUntil: number): Promise<boolean | undefined> {
    const row = this.heldRow(refHash);
    if (row === undefined) return undefined;
    if (row.state !== "pushed" && row.state !== "open") return false;
    this.sql.exec(
      "UPDATE held_request SET state = 'spent', value = '', expires_at = MAX(expires_at, ?) WHERE ref_hash = ?",
      spentUntil,
      refHash,
    );
    void this.scheduleCleanup(spentUntil);
    return true;
  }

  /** Fails closed: a row that does not parse reads as spent. */
  private heldRow(refHash: string): HeldRow | undefined {
    const row = this.sql
      .exec("SELECT value, open_by, state, expires_at FROM held_request WHERE ref_hash = ?", refHash)
      .toArray()[0];
    if (row === undefined) return undefined;
    return readStored("replay guard", heldRow, row) ?? { value: "", open_by: 0, state: "spent", expires_at: 0 };
  }

  /**
   * Records `jtiHash` until `expiresAt` (epoch seconds). Returns false if it was already
   * recorded and has not yet expired: the caller must refuse the assertion.
   */
  async claim(jtiHash: string, expiresAt: number): Promise<boolean> {
    if (this.isRecorded(jtiHash)) return false;
    this.sql.exec("INSERT OR REPLACE INTO seen_jti (jti_hash, expires_at) VALUES (?, ?)", jtiHash, expiresAt);
    // One alarm prunes expired entries; setting it is not awaited, so the check above and
    // the write stay one atomic step.
    void this.scheduleCleanup(expiresAt);
    return true;
  }

  /**
   * For something used once at the end of an interaction (a pushed authorization request): is
   * it still usable at this step? "spent" once `spentKey` is claimed; otherwise "open" if it was
   * opened before and `openKey` has not run out, or if it can be opened now (before `openBy`,
   * epoch seconds), which records `openKey` until `openUntil`; else "expired". One atomic step.
   */
  async open(spentKey: string, openKey: string, openBy: number, openUntil: number): Promise<OpenState> {
    if (this.isRecorded(spentKey)) return "spent";
    if (this.isRecorded(openKey)) return "open";
    if (openBy <= Math.floor(Date.now() / 1000)) return "expired";
    this.sql.exec("INSERT OR REPLACE INTO seen_jti (jti_hash, expires_at) VALUES (?, ?)", openKey, openUntil);
    void this.scheduleCleanup(openUntil);
    return "open";
  }

  private isRecorded(jtiHash: string): boolean {
    const row = this.sql.exec("SELECT expires_at FROM seen_jti WHERE jti_hash = ?", jtiHash).toArray()[0];
    if (row === undefined) return false;
    // Fails closed: an entry that does not parse still counts as seen (a replay is refused).
    const seen = readStored("replay guard", expiryRow, row);
    return seen === undefined || seen.expires_at >= Math.floor(Date.now() / 1000);
  }

  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec("DELETE FROM seen_jti WHERE expires_at < ?", now);
    this.sql.exec("DELETE FROM held_request WHERE expires_at < ?", now);
    const { next } = this.sql
      .exec(
        "SELECT MIN(expires_at) AS next FROM (SELECT expires_at FROM seen_jti UNION ALL SELECT expires_at FROM held_request)",
      )
      .one();
    if (typeof next === "number") await this.ctx.storage.setAlarm((next + 1) * 1000);
  }

  private async scheduleCleanup(expiresAt: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > (expiresAt + 1) * 1000) await this.ctx.storage.setAlarm((expiresAt + 1) * 1000);
  }
}
