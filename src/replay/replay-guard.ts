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
import { int, object, readStored } from "../parse";

const expiryRow = object<{ expires_at: number }>({ expires_at: int });

export type OpenState = "open" | "spent" | "expired";

export class ReplayGuard extends DurableObject<object> {
  private readonly sql: SqlStorage;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS seen_jti (jti_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
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
    const { next } = this.sql.exec("SELECT MIN(expires_at) AS next FROM seen_jti").one();
    if (typeof next === "number") await this.ctx.storage.setAlarm((next + 1) * 1000);
  }

  private async scheduleCleanup(expiresAt: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > (expiresAt + 1) * 1000) await this.ctx.storage.setAlarm((expiresAt + 1) * 1000);
  }
}
