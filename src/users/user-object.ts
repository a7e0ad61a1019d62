/**
 * One Durable Object per user (issue 16), named by a hash of the subject (`userObjectName`). It
 * holds what is the user's and must be strongly consistent, in the synchronous key-value API of
 * SQLite-backed objects (`ctx.storage.kv`: no `CREATE TABLE`, one row per key):
 *  - `pending:<internalId>`: the user's pending CIBA requests, replacing D1's
 *    backchannel_login_index. `addPending` counts and inserts in one synchronous step, so the
 *    caps per client and in all hold under any concurrency, and creating a request writes
 *    nothing to D1. Listing is one call whatever the number of requests. Each entry is what the
 *    /ciba list and live pages show (`view`) plus, opaque here, the request record the store
 *    returns (`detail`). The request's own object stays the truth for its state.
 *  - `sub:<id>`: the user's Web Push subscriptions, sealed by the caller
 *    (src/push/sealed-subscription.ts): the object never sees a key or an endpoint in the clear
 *    and holds no secret itself.
 *  - open /ciba pages, as hibernatable WebSockets (ctx.acceptWebSocket): every change to the
 *    pending list is sent to them at once; "ping" is answered by the runtime without waking
 *    the object (setWebSocketAutoResponse), so an idle page costs no duration.
 * The object makes no outbound request and has no alarm: an entry leaves when its request is
 * answered or withdrawn, or when the request's own object deletes it after expiry (its alarm
 * calls `removePending(id, "expired")`); expired entries are never listed or counted meanwhile,
 * and `addPending` sweeps any it meets. Every method is synchronous between storage calls,
 * hence atomic.
 *
 * Rows written (issue 18): addPending 1; removePending 1, or none when it leaves the object
 * empty (then `deleteAll()`: an object with nothing pending and no subscription keeps no
 * storage); putSubscription 1 (+1 per eviction), removeSubscription 1.
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
/** The store's record of a pending request, kept opaque here. */
const MAX_DETAIL = 16_384;
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

/** A stored pending entry: the view, and the caller's opaque record (the store's JSON). */
interface PendingEntry {
  view: PendingRequest;
  detail?: string;
}

const PENDING = "pending:";
const SUBSCRIPTION = "sub:";

function parsePendingEntry(value: unknown): PendingEntry | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const view = parsePendingRequest(v.view);
  if (!view) return undefined;
  if (v.detail !== undefined && !isText(v.detail, MAX_DETAIL)) return undefined;
  return v.detail === undefined ? { view } : { view, detail: v.detail };
}

function parseStoredSubscription(id: string, value: unknown): (StoredSubscription & { storedAt: number }) | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isText(v.sealed, 8192) || !isText(v.label, 128) || !isText(v.service, 255)) return undefined;
  if (!isEpoch(v.createdAt) || !isEpoch(v.storedAt)) return undefined;
  return { id, sealed: v.sealed, label: v.label, service: v.service, createdAt: v.createdAt, storedAt: v.storedAt };
}

/** Reads no binding and no secret: its env is not used. */
export class UserObject extends DurableObject<unknown> {
  private readonly kv: SyncKvStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.kv = ctx.storage.kv;
    // Answered by the runtime while the object sleeps: keeps idle pages' connections alive for free.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // --- pending CIBA requests -------------------------------------------------------------------

  /**
   * Lists `entry` unless the user already has `limits.perUser` unexpired requests, or
   * `limits.perUserAndClient` from its client. Count and insert are one synchronous step.
   * `detail` (at most 16 KB) is kept as given and returned by `listPendingDetails`.
   */
  async addPending(entry: PendingRequest, limits: PendingLimits, detail?: string): Promise<AddPendingOutcome> {
    const request = parsePendingRequest(entry);
    if (!request || (detail !== undefined && !isText(detail, MAX_DETAIL))) return { added: false, reason: "invalid" };
    const now = Math.floor(Date.now() / 1000);
    if (request.expiresAt <= now) return { added: false, reason: "expired" };
    const key = PENDING + request.internalId;
    if (this.kv.get(key) !== undefined) return { added: false, reason: "already_listed" };
    let inAll = 0;
    let fromClient = 0;
    for (const [otherKey, value] of this.kv.list({ prefix: PENDING })) {
      const other = parsePendingEntry(value);
      if (!other || other.view.expiresAt <= now) {
        // Left behind (its request's clean-up did not reach us): swept here, at no cost otherwise.
        this.kv.delete(otherKey);
        continue;
      }
      inAll += 1;
      if (other.view.clientId === request.clientId) fromClient += 1;
    }
    if (inAll >= limits.perUser || fromClient >= limits.perUserAndClient) {
      return { added: false, reason: "too_many_pending" };
    }
    this.kv.put(key, detail === undefined ? { view: request } : { view: request, detail });
    this.broadcast({ type: "added", request });
    return { added: true };
  }

  /**
   * Takes a request off the list (answered, expired, or withdrawn by its client); false if not
   * listed. When nothing else is stored, the whole storage goes (`deleteAll()`), not the one key.
   */
  async removePending(internalId: string, reason: RemovalReason = "decided"): Promise<boolean> {
    if (!isText(internalId, 128)) return false;
    const key = PENDING + internalId;
    if (this.kv.get(key) === undefined) return false;
    if (this.holdsOnly(key)) await this.ctx.storage.deleteAll();
    else this.kv.delete(key);
    this.broadcast({ type: "removed", internalId, reason });
    return true;
  }

  /** Replaces the stored `detail` of a listed request (its descriptive fields changed); false if not listed. */
  async updatePendingDetail(internalId: string, detail: string): Promise<boolean> {
    if (!isText(internalId, 128) || !isText(detail, MAX_DETAIL)) return false;
    const key = PENDING + internalId;
    const entry = parsePendingEntry(this.kv.get(key));
    if (!entry) return false;
    this.kv.put(key, { ...entry, detail });
    return true;
  }

  /** The user's unexpired pending requests (optionally from one client), oldest first. */
  async listPending(clientId?: string): Promise<PendingRequest[]> {
    return this.pendingEntries(clientId).map((entry) => entry.view);
  }

  /** The `detail` of each unexpired pending request (optionally from one client), oldest first. */
  async listPendingDetails(clientId?: string): Promise<string[]> {
    return this.pendingEntries(clientId).flatMap((entry) => (entry.detail === undefined ? [] : [entry.detail]));
  }

  private pendingEntries(clientId?: string): PendingEntry[] {
    const now = Math.floor(Date.now() / 1000);
    const entries: PendingEntry[] = [];
    for (const [, value] of this.kv.list({ prefix: PENDING })) {
      const entry = parsePendingEntry(value);
      if (!entry || entry.view.expiresAt <= now) continue;
      if (clientId !== undefined && entry.view.clientId !== clientId) continue;
      entries.push(entry);
    }
    return entries.sort(
      (a, b) => a.view.createdAt - b.view.createdAt || (a.view.internalId < b.view.internalId ? -1 : 1),
    );
  }

  /** Whether `key` is the only thing stored here that still matters (expired entries do not). */
  private holdsOnly(key: string): boolean {
    const now = Math.floor(Date.now() / 1000);
    for (const [other, value] of this.kv.list()) {
      if (other === key) continue;
      if (other.startsWith(PENDING)) {
        const entry = parsePendingEntry(value);
        if (entry && entry.view.expiresAt > now) return false;
        continue;
      }
      return false;
    }
    return true;
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
    const others = this.storedSubscriptions().filter((s) => s.id !== id);
    // Later than every other, so the order of storing survives equal clock readings.
    const storedAt = Math.max(Date.now(), ...others.map((s) => s.storedAt + 1));
    this.kv.put(SUBSCRIPTION + id, { sealed, label, service, createdAt: Math.floor(Date.now() / 1000), storedAt });
    const keep = Math.max(1, Math.floor(max)) - 1;
    const evicted = others.slice(0, Math.max(0, others.length - keep)).map((s) => s.id);
    for (const old of evicted) this.kv.delete(SUBSCRIPTION + old);
    return { stored: true, evicted };
  }

  /**
   * Removes a subscription; with `sealed`, only if it is still that one (a push answered 410
   * must not delete the fresh subscription the same browser stored meanwhile).
   */
  async removeSubscription(id: string, sealed?: string): Promise<boolean> {
    if (!isText(id, 128)) return false;
    const stored = parseStoredSubscription(id, this.kv.get(SUBSCRIPTION + id));
    if (!stored || (sealed !== undefined && stored.sealed !== sealed)) return false;
    return this.kv.delete(SUBSCRIPTION + id);
  }

  /** The user's subscriptions, least recently stored first. */
  async subscriptions(): Promise<StoredSubscription[]> {
    return this.storedSubscriptions().map(({ storedAt: _, ...subscription }) => subscription);
  }

  private storedSubscriptions(): (StoredSubscription & { storedAt: number })[] {
    const all: (StoredSubscription & { storedAt: number })[] = [];
    for (const [key, value] of this.kv.list({ prefix: SUBSCRIPTION })) {
      const parsed = parseStoredSubscription(key.slice(SUBSCRIPTION.length), value);
      if (parsed) all.push(parsed);
    }
    return all.sort((a, b) => a.storedAt - b.storedAt);
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
}

/** A Response typed as the runtime's (the same object; only Node's typings differ, see above). */
function plainResponse(body: string | null, init: ResponseInit): UpgradeResponse {
  return new Response(body, init) as unknown as UpgradeResponse;
}
