/**
 * Remembers the `jti` of every JWT a client sends (client assertions, signed backchannel
 * requests, request objects pushed to /par) for as long as that JWT could still be accepted,
 * so that a captured one cannot be replayed; it also fences the one-time use of pushed
 * authorization requests (src/par/pushed-request-store.ts). KV cannot do this: it is eventually
 * consistent and a second edge location would accept the replay. One Durable Object per client
 * (`idFromName("jti:" + client_id)`) is strongly consistent, and `claim` is a synchronous
 * read-check-write, which the runtime runs atomically.
 */
import { DurableObject } from "cloudflare:workers";
import { acceptableUntil } from "../clients/jwt-time";
import type { RequestContext } from "../context";
import { sha256Hex } from "../crypto/hash";
import type { Bindings } from "../env";

export type OpenState = "open" | "spent" | "expired";

export class ReplayGuard extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Bindings) {
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
    const seen = this.sql
      .exec<{ expires_at: number }>("SELECT expires_at FROM seen_jti WHERE jti_hash = ?", jtiHash)
      .toArray()[0];
    return seen !== undefined && seen.expires_at >= Math.floor(Date.now() / 1000);
  }

  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec("DELETE FROM seen_jti WHERE expires_at < ?", now);
    const next = this.sql.exec<{ next: number | null }>("SELECT MIN(expires_at) AS next FROM seen_jti").one().next;
    if (next !== null) await this.ctx.storage.setAlarm((next + 1) * 1000);
  }

  private async scheduleCleanup(expiresAt: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > (expiresAt + 1) * 1000) await this.ctx.storage.setAlarm((expiresAt + 1) * 1000);
  }
}

/**
 * The kinds of JWT a client sends, each with its own jti space: the same jti in a client
 * assertion and in the request object it accompanies is not a replay. Client assertions keep
 * the empty prefix they always had, so jtis recorded before this split still count.
 */
const JTI_PREFIXES = {
  client_assertion: "",
  backchannel_request: "backchannel-request:",
  request_object: "request-object:",
} as const;

export type ClientJwtKind = keyof typeof JTI_PREFIXES;

/**
 * Seconds a jti is kept beyond the last moment its JWT can be accepted. The Worker that checked
 * `exp` and this object read different clocks (a Worker's clock also stands still while it
 * runs), so the two must not meet exactly at the edge.
 */
const CLOCK_MARGIN = 60;

/**
 * Claims the `jti` (or another one-time identifier) of a JWT `clientId` sent, for as long as a
 * JWT with this `exp` can be accepted (exp + JWT_CLOCK_TOLERANCE, plus a margin). False means it
 * was seen before: a replay, which the caller must refuse. Strongly consistent (one object per
 * client) and atomic.
 */
export async function claimClientJwtId(
  ctx: RequestContext,
  clientId: string,
  kind: ClientJwtKind,
  id: string,
  exp: number,
): Promise<boolean> {
  const stub = ctx.env.REPLAY_GUARD.get(ctx.env.REPLAY_GUARD.idFromName(`jti:${clientId}`));
  const hash = await sha256Hex(`${JTI_PREFIXES[kind]}${id}`);
  return stub.claim(hash, acceptableUntil(exp, ctx.settings) + CLOCK_MARGIN);
}
