/**
 * One Durable Object per user (issue 16), named by a hash of the subject (`userObjectName`). It
 * holds what is the user's and must be strongly consistent, in SQLite:
 *  - the user's pending CIBA requests: an index with what the /ciba list shows, replacing D1's
 *    backchannel_login_index. `addPending` counts and inserts in one synchronous step, so the
 *    caps per client and in all hold under any concurrency, and creating a request writes
 *    nothing to D1. Listing is one call whatever the number of requests. The request's own
 *    object stays the truth for its state; this is what the user is shown.
 *  - the user's Web Push subscriptions, sealed by the caller (src/push/sealed-subscription.ts):
 *    the object never sees a key or an endpoint in the clear and holds no secret itself.
 *  - open /ciba pages, as hibernatable WebSockets (ctx.acceptWebSocket): every change to the
 *    pending list is sent to them at once; "ping" is answered by the runtime without waking
 *    the object (setWebSocketAutoResponse), so an idle page costs no duration.
 * The object makes no outbound request: pushing to devices runs in the CIBA request's alarm
 * (src/push/fan-out.ts), which reads the subscriptions here and removes the ones gone. Every
 * method is a synchronous run of SQL between awaits of storage only, hence atomic.
 *
 * Rows written: addPending 1 (+1 when it moves the alarm earlier), removePending 1, the alarm
 * one per expired request; putSubscription 1 (+1 per eviction), removeSubscription 1.
 */
import { DurableObject } from "cloudflare:workers";
import { sha256Hex } from "../crypto/hash";

/** What the /ciba list shows of one pending request (and a push notice is built from). */
export interface PendingRequest {
  internalId: string;
  clientId: string;
  clientName: string;
  bindingMessage: string | null;
  scopes: string[];
  /** The acr_values asked for: `phr` means the approval needs a passkey. */
  acrValues: string[];
  /** Epoch seconds. */
  createdAt: number;
  expiresAt: number;
}

export interface PendingLimits {
  perUser: number;
  perUserAndClient: number;
}

export type AddPendingOutcome =
  | { added: true }
  | { added: false; reason: "too_many_pending" | "already_listed" | "expired" | "invalid" };

export type RemovalReason = "decided" | "expired" | "withdrawn";

/** A push subscription as stored: `sealed` is opaque here. */
export interface StoredSubscription {
  /** SHA-256 (hex) of the endpoint: the same browser subscribing again replaces its entry. */
  id: string;
  sealed: string;
  /** What the account page shows ("Chrome on Android"), and the push service's host. */
  label: string;
  service: string;
  /** Epoch seconds. */
  createdAt: number;
}

/** What the page receives over the WebSocket. */
export type LiveEvent =
  | { type: "list"; requests: PendingRequest[] }
  | { type: "added"; request: PendingRequest }
  | { type: "removed"; internalId: string; reason: RemovalReason };

/** Open /ciba pages per user; one more is refused (a page reconnects when another closes). */
export const MAX_SOCKETS = 20;
/** A page sends only "ping" (auto-answered) and "sync"; anything longer is not ours. */
const MAX_MESSAGE_LENGTH = 64;

/** The object's name for `subject`: a hash, so the subject appears in no object id. */
export async function userObjectName(subject: string): Promise<string> {
  return sha256Hex(`edge-op user\u0000${subject}`);
}

const MAX_TEXT = 2048;
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === "string" && v.length <= max;
const isEpoch = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isTextList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 100 && v.every((s) => isText(s, 256));

/** A pending entry from a caller or a row, checked (the RPC boundary and storage are both input). */
export function parsePendingRequest(value: unknown): PendingRequest | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isText(v.internalId, 128) || v.internalId.length === 0 || !isText(v.clientId, 255) || !isText(v.clientName)) {
    return undefined;
  }
  if (!(v.bindingMessage === null || isText(v.bindingMessage))) return undefined;
  if (!isTextList(v.scopes) || !isTextList(v.acrValues) || !isEpoch(v.createdAt) || !isEpoch(v.expiresAt)) {
    return undefined;
  }
  return {
    internalId: v.internalId,
    clientId: v.clientId,
    clientName: v.clientName,
    bindingMessage: v.bindingMessage,
    scopes: [...v.scopes],
    acrValues: [...v.acrValues],
    createdAt: v.createdAt,
    expiresAt: v.expiresAt,
  };
}

/*
 * The WebSocket types as the object's base class names them: the same as the globals in the
 * Worker, and Workers' own (not Node's) where Node-side code type-checks this file through
 * src/index.ts (tsconfig.node.json, scripts/workers-globals.d.ts).
 */
type UpgradeRequest = Parameters<NonNullable<DurableObject["fetch"]>>[0];
type UpgradeResponse = Awaited<ReturnType<NonNullable<DurableObject["fetch"]>>>;
type LiveSocket = Parameters<NonNullable<DurableObject["webSocketMessage"]>>[0];

/** Reads no binding and no secret: its env is not used. */
export class UserObject extends DurableObject<unknown> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS pending (
      internal_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL,
      summary TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS push_subscriptions (
      id TEXT PRIMARY KEY, sealed TEXT NOT NULL, label TEXT NOT NULL, service TEXT NOT NULL, created_at INTEGER NOT NULL)`);
    // Answered by the runtime while the object sleeps: keeps idle pages' connections alive for free.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // --- pending CIBA requests -------------------------------------------------------------------

  /**
   * Lists `entry` unless the user already has `limits.perUser` unexpired requests, or
   * `limits.perUserAndClient` from its client. Count and insert are one synchronous step.
   */
  async addPending(entry: PendingRequest, limits: PendingLimits): Promise<AddPendingOutcome> {
    const request = parsePendingRequest(entry);
    if (!request) return { added: false, reason: "invalid" };
    const now = Math.floor(Date.now() / 1000);
    if (request.expiresAt <= now) return { added: false, reason: "expired" };
    const count = (clientId?: string) =>
      this.sql
        .exec<{ n: number }>(
          clientId === undefined
            ? "SELECT COUNT(*) AS n FROM pending WHERE expires_at > ?"
            : "SELECT COUNT(*) AS n FROM pending WHERE expires_at > ? AND client_id = ?",
          ...(clientId === undefined ? [now] : [now, clientId]),
        )
        .one().n;
    if (count() >= limits.perUser || count(request.clientId) >= limits.perUserAndClient) {
      return { added: false, reason: "too_many_pending" };
    }
    const inserted = this.sql.exec(
      "INSERT OR IGNORE INTO pending (internal_id, client_id, expires_at, created_at, summary) VALUES (?, ?, ?, ?, ?)",
      request.internalId,
      request.clientId,
      request.expiresAt,
      request.createdAt,
      JSON.stringify(request),
    ).rowsWritten;
    if (inserted === 0) return { added: false, reason: "already_listed" };
    await this.wakeAt(request.expiresAt);
    this.broadcast({ type: "added", request });
    return { added: true };
  }

  /** Takes a request off the list (answered, or withdrawn by its client); false if not listed. */
  async removePending(internalId: string, reason: RemovalReason = "decided"): Promise<boolean> {
    if (!isText(internalId, 128)) return false;
    const removed = this.sql.exec("DELETE FROM pending WHERE internal_id = ?", internalId).rowsWritten > 0;
    if (removed) this.broadcast({ type: "removed", internalId, reason });
    return removed;
  }

  /** The user's unexpired pending requests (optionally from one client), oldest first. */
  async listPending(clientId?: string): Promise<PendingRequest[]> {
    const now = Math.floor(Date.now() / 1000);
    const rows =
      clientId === undefined
        ? this.sql.exec<{ summary: string }>(
            "SELECT summary FROM pending WHERE expires_at > ? ORDER BY created_at, internal_id",
            now,
          )
        : this.sql.exec<{ summary: string }>(
            "SELECT summary FROM pending WHERE expires_at > ? AND client_id = ? ORDER BY created_at, internal_id",
            now,
            clientId,
          );
    return rows.toArray().flatMap((row) => {
      const parsed = parsePendingRequest(safeJson(row.summary));
      return parsed ? [parsed] : [];
    });
  }

  // --- push subscriptions ----------------------------------------------------------------------

  /**
   * Stores a subscription (replacing one with the same id). A user may have `max`; the oldest
   * beyond that are evicted, not the new one refused: browsers rotate subscriptions and a dead
   * one is only noticed at the next push. Returns the ids evicted.
   */
  async putSubscription(
    subscription: Omit<StoredSubscription, "createdAt">,
    max: number,
  ): Promise<{ stored: true; evicted: string[] } | { stored: false; error: string }> {
    const { id, sealed, label, service } = subscription;
    if (!/^[0-9a-f]{64}$/.test(id) || !isText(sealed, 8192) || !isText(label, 128) || !isText(service, 255)) {
      return { stored: false, error: "malformed subscription" };
    }
    // REPLACE deletes and inserts, so the rowid orders subscriptions by when they were last stored.
    this.sql.exec(
      "INSERT OR REPLACE INTO push_subscriptions (id, sealed, label, service, created_at) VALUES (?, ?, ?, ?, ?)",
      id,
      sealed,
      label,
      service,
      Math.floor(Date.now() / 1000),
    );
    const evicted = this.sql
      .exec<{ id: string }>(
        "SELECT id FROM push_subscriptions ORDER BY rowid DESC LIMIT -1 OFFSET ?",
        Math.max(1, Math.floor(max)),
      )
      .toArray()
      .map((row) => String(row.id));
    for (const old of evicted) this.sql.exec("DELETE FROM push_subscriptions WHERE id = ?", old);
    return { stored: true, evicted };
  }

  /**
   * Removes a subscription; with `sealed`, only if it is still that one (a push answered 410
   * must not delete the fresh subscription the same browser stored meanwhile).
   */
  async removeSubscription(id: string, sealed?: string): Promise<boolean> {
    const cursor =
      sealed === undefined
        ? this.sql.exec("DELETE FROM push_subscriptions WHERE id = ?", id)
        : this.sql.exec("DELETE FROM push_subscriptions WHERE id = ? AND sealed = ?", id, sealed);
    return cursor.rowsWritten > 0;
  }

  async subscriptions(): Promise<StoredSubscription[]> {
    return this.sql
      .exec<{ id: string; sealed: string; label: string; service: string; created_at: number }>(
        "SELECT id, sealed, label, service, created_at FROM push_subscriptions ORDER BY rowid",
      )
      .toArray()
      .map((row) => ({
        id: String(row.id),
        sealed: String(row.sealed),
        label: String(row.label),
        service: String(row.service),
        createdAt: Number(row.created_at),
      }));
  }

  // --- live /ciba pages --------------------------------------------------------------------------

  /**
   * A WebSocket upgrade for an open /ciba page. The Worker has authenticated the user (session
   * and Origin) and routed to this user's object before forwarding the request here.
   */
  override async fetch(request: UpgradeRequest): Promise<UpgradeResponse> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return plainResponse("expected a WebSocket upgrade", { status: 426, headers: { upgrade: "websocket" } });
    }
    if (this.ctx.getWebSockets().length >= MAX_SOCKETS) return plainResponse("too many open pages", { status: 429 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify({ type: "list", requests: await this.listPending() } satisfies LiveEvent));
    return plainResponse(null, { status: 101, webSocket: client } as ResponseInit);
  }

  override async webSocketMessage(ws: LiveSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string" || message.length > MAX_MESSAGE_LENGTH) {
      ws.close(1008, "unexpected message");
      return;
    }
    // After a reconnect or a missed event, the page asks for the whole list again.
    if (message === "sync") ws.send(JSON.stringify({ type: "list", requests: await this.listPending() }));
  }

  override async webSocketClose(ws: LiveSocket, code: number): Promise<void> {
    // 1005/1006 (no status, abnormal) may not be sent in a close frame.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed (the runtime may have answered the close itself).
    }
  }

  private broadcast(event: LiveEvent): void {
    const text = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // A socket closing as we send: its page reconnects and syncs.
      }
    }
  }

  // --- expiry ------------------------------------------------------------------------------------

  /** The alarm runs at the earliest expiry; move it earlier if `at` (epoch seconds) is sooner. */
  private async wakeAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at * 1000) await this.ctx.storage.setAlarm(at * 1000);
  }

  /** Drops expired requests, tells open pages, and sleeps until the next expiry. */
  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const expired = this.sql
      .exec<{ internal_id: string }>("SELECT internal_id FROM pending WHERE expires_at <= ?", now)
      .toArray()
      .map((row) => String(row.internal_id));
    this.sql.exec("DELETE FROM pending WHERE expires_at <= ?", now);
    for (const internalId of expired) this.broadcast({ type: "removed", internalId, reason: "expired" });
    const next = this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM pending").one().at;
    if (next !== null) await this.ctx.storage.setAlarm(Number(next) * 1000);
  }
}

/** A Response typed as the runtime's (the same object; only Node's typings differ, see above). */
function plainResponse(body: string | null, init: ResponseInit): UpgradeResponse {
  return new Response(body, init) as unknown as UpgradeResponse;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
