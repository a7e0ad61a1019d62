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

/**
 * A pushed request's encrypted copy and its fence, under one key `held:<ref_hash>` of the
 * synchronous key-value API (issue 18): a put writes one row, where the former `held_request`
 * table's INSERT wrote two (its primary-key index).
 */
interface Held {
  value: string;
  openBy: number;
  state: string;
  expiresAt: number;
}
const held = object<Held>({ value: str, openBy: int, state: str, expiresAt: int });
const legacyHeldRow = object<{ value: string; open_by: number; state: string; expires_at: number }>({
  value: str,
  open_by: int,
  state: str,
  expires_at: int,
});

const HELD = "held:";
/** Fails closed: an entry that does not parse reads as spent. */
const UNREADABLE: Held = { value: "", openBy: 0, state: "spent", expiresAt: 0 };

export type OpenState = "open" | "spent" | "expired";

export class ReplayGuard extends DurableObject<object> {
  private readonly sql: SqlStorage;
  private readonly kv: SyncKvStorage;
  /** Whether a pre-issue-18 `held_request` table exists; undefined until first asked. */
  private legacyTable: boolean | undefined;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.kv = ctx.storage.kv;
    this.sql.exec("CREATE TABLE IF NOT EXISTS seen_jti (jti_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
  }

  /**
   * Holds a pushed request's encrypted value beside its fence, the strongly consistent copy
   * /authorize reads when KV misses (KV may lag, and cache the miss, for up to 60 s at another
   * location). One key, which the open and spend steps then overwrite, so a request costs one row
   * written per step here (push, open, spend) and one clean-up delete. Kept until `keepUntil`
   * (epoch seconds).
   */
  async hold(refHash: string, value: string, openBy: number, keepUntil: number): Promise<void> {
    if (this.held(refHash) !== undefined) return;
    this.putHeld(refHash, { value, openBy, state: "pushed", expiresAt: keepUntil });
    void this.scheduleCleanup(keepUntil);
  }

  /**
   * `open` for a held request: the state and, when open, the held value. Undefined when nothing
   * is held (a request pushed before copies were held: the caller uses `open`). One atomic step.
   */
  async openHeld(refHash: string, openUntil: number): Promise<{ state: OpenState; value?: string } | undefined> {
    const entry = this.held(refHash);
    if (entry === undefined) return undefined;
    const now = Math.floor(Date.now() / 1000);
    if (entry.state !== "pushed" && entry.state !== "open") return { state: "spent" };
    if (entry.state === "open") {
      return entry.expiresAt >= now ? { state: "open", value: entry.value } : { state: "expired" };
    }
    if (entry.openBy <= now) return { state: "expired" };
    this.putHeld(refHash, { ...entry, state: "open", expiresAt: Math.max(entry.expiresAt, openUntil) });
    void this.scheduleCleanup(openUntil);
    return { state: "open", value: entry.value };
  }

  /**
   * `claim` for a held request: false if already spent, undefined when nothing is held. The
   * value is dropped with the spend: only the fence is still needed.
   */
  async claimHeld(refHash: string, spentUntil: number): Promise<boolean | undefined> {
    const entry = this.held(refHash);
    if (entry === undefined) return undefined;
    if (entry.state !== "pushed" && entry.state !== "open") return false;
    this.putHeld(refHash, { ...entry, state: "spent", value: "", expiresAt: Math.max(entry.expiresAt, spentUntil) });
    void this.scheduleCleanup(spentUntil);
    return true;
  }

  private held(refHash: string): Held | undefined {
    const stored = this.kv.get(HELD + refHash);
    if (stored !== undefined) return readStored("replay guard", held, stored) ?? UNREADABLE;
    return this.legacyHeld(refHash);
  }

  private putHeld(refHash: string, entry: Held): void {
    this.kv.put(HELD + refHash, entry);
  }

  /**
   * A request held before issue 18, in the `held_request` table: still opened and spent (the
   * change is written to the key, which is read first from then on). Asked only on a key miss.
   */
  private legacyHeld(refHash: string): Held | undefined {
    if (!this.hasLegacyTable()) return undefined;
    const row = this.sql
      .exec("SELECT value, open_by, state, expires_at FROM held_request WHERE ref_hash = ?", refHash)
      .toArray()[0];
    if (row === undefined) return undefined;
    const parsed = readStored("replay guard", legacyHeldRow, row);
    return parsed
      ? { value: parsed.value, openBy: parsed.open_by, state: parsed.state, expiresAt: parsed.expires_at }
      : UNREADABLE;
  }

  private hasLegacyTable(): boolean {
    this.legacyTable ??=
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'held_request'").toArray().length > 0;
    return this.legacyTable;
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
    let next: number | undefined;
    for (const [key, value] of this.kv.list({ prefix: HELD })) {
      const entry = readStored("replay guard", held, value);
      if (!entry || entry.expiresAt < now) this.kv.delete(key);
      else next = Math.min(next ?? entry.expiresAt, entry.expiresAt);
    }
    const legacy = this.hasLegacyTable() ? " UNION ALL SELECT expires_at FROM held_request" : "";
    if (legacy) this.sql.exec("DELETE FROM held_request WHERE expires_at < ?", now);
    const row = this.sql.exec(`SELECT MIN(expires_at) AS next FROM (SELECT expires_at FROM seen_jti${legacy})`).one();
    if (typeof row.next === "number") next = Math.min(next ?? row.next, row.next);
    if (next !== undefined) await this.ctx.storage.setAlarm((next + 1) * 1000);
  }

  private async scheduleCleanup(expiresAt: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > (expiresAt + 1) * 1000) await this.ctx.storage.setAlarm((expiresAt + 1) * 1000);
  }
}
