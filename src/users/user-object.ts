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
 *  - the user's answers (issue 18): `answerPending` turns a request's entry, in place, into the
 *    user's answer (decision, scopes, time) and, for an approval, the grant it made (grant id,
 *    refresh-token family id, the approving session's sid): the account page's "recent answers",
 *    and what sign-out and withdrawal revoke, with no D1 row written on the CIBA hot path. With
 *    it, as `detail`, what the answer set on the request's record (kept small: every answer is
 *    scanned when `addPending` counts): for a poll-mode request this entry is the answer's only
 *    durable copy (src/ciba/request-object.ts reads it back with `answeredDetail`). Kept until
 *    the caller's `keepUntil`; the next `addPending` sweeps it after that.
 *
 *  - push retries per subscription: when a request's notice must be retried on some device
 *    (429/5xx), `recordPushed` notes on its pending entry the devices already done with it
 *    (delivered, or refused for good), and `subscriptions(internalId)` leaves them out of the
 *    retry. Nothing is written when every device took the notice at once.
 *
 * Rows written (issue 18): addPending 1; answerPending 1 (the same key, overwritten);
 * removePending 1, or none when it leaves the object empty (then `deleteAll()`: an object with
 * nothing pending, no answer kept and no subscription keeps no storage); putSubscription 1 (+1
 * per eviction), removeSubscription 1; an answer swept after `keepUntil` 1; recordPushed 1 (only
 * on a push to be retried).
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

/** The user's answer to a request, kept in place of its pending entry (issue 18). */
export interface RequestAnswer {
  decision: "approved" | "denied";
  /** The scopes granted; none for a denial. */
  scopes: string[];
  /** Epoch seconds. */
  decidedAt: number;
  /** Kept until then (epoch seconds): the history's retention, or longer while the grant may have live tokens. */
  keepUntil: number;
  /** An approval's grant (`grant_id` in its access tokens), and its refresh-token family if any. */
  grantId?: string;
  refreshFamilyId?: string;
  /** The sid of the browser session that approved: its sign-out revokes the grant (unless offline_access). */
  sessionId?: string;
  /** The grant was revoked (sign-out, withdrawal): still an answer, no longer a live grant. */
  revoked?: boolean;
}

export interface AnsweredRequest {
  request: PendingRequest;
  answer: RequestAnswer;
}

/** An answer from a caller or a row, checked. */
function parseAnswer(value: unknown): RequestAnswer | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.decision !== "approved" && v.decision !== "denied") return undefined;
  if (!isTextList(v.scopes) || !isEpoch(v.decidedAt) || !isEpoch(v.keepUntil)) return undefined;
  for (const field of ["grantId", "refreshFamilyId", "sessionId"] as const) {
    if (v[field] !== undefined && !isText(v[field], 256)) return undefined;
  }
  if (v.revoked !== undefined && typeof v.revoked !== "boolean") return undefined;
  const answer: RequestAnswer = {
    decision: v.decision,
    scopes: [...v.scopes],
    decidedAt: v.decidedAt,
    keepUntil: v.keepUntil,
  };
  if (typeof v.grantId === "string") answer.grantId = v.grantId;
  if (typeof v.refreshFamilyId === "string") answer.refreshFamilyId = v.refreshFamilyId;
  if (typeof v.sessionId === "string") answer.sessionId = v.sessionId;
  if (v.revoked === true) answer.revoked = true;
  return answer;
}

/** A stored entry: the view, the caller's opaque record (the store's JSON), or, once answered, the answer. */
interface PendingEntry {
  view: PendingRequest;
  detail?: string;
  answer?: RequestAnswer;
  /** Subscription ids done with this request's notice, recorded only when a retry was needed. */
  pushedTo?: string[];
}

/** Whether an entry still matters at `now`: a pending request until it expires, an answer until its keepUntil. */
function isLive(entry: PendingEntry, now: number): boolean {
  return entry.answer ? entry.answer.keepUntil > now : entry.view.expiresAt > now;
}

const PENDING = "pending:";
const SUBSCRIPTION = "sub:";

function parsePendingEntry(value: unknown): PendingEntry | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const view = parsePendingRequest(v.view);
  if (!view) return undefined;
  if (v.detail !== undefined && !isText(v.detail, MAX_DETAIL)) return undefined;
  if (v.answer !== undefined) {
    const answer = parseAnswer(v.answer);
    if (!answer) return undefined;
    return v.detail === undefined ? { view, answer } : { view, answer, detail: v.detail };
  }
  const entry: PendingEntry = v.detail === undefined ? { view } : { view, detail: v.detail };
  if (v.pushedTo !== undefined) {
    if (!isSubscriptionIdList(v.pushedTo)) return undefined;
    entry.pushedTo = [...v.pushedTo];
  }
  return entry;
}

const SUBSCRIPTION_ID = /^[0-9a-f]{64}$/;
/** At most this many subscriptions are ever noted per request (more than any user keeps). */
const MAX_PUSHED_TO = 100;
const isSubscriptionIdList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length <= MAX_PUSHED_TO && v.every((id) => typeof id === "string" && SUBSCRIPTION_ID.test(id));

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
      if (!other || !isLive(other, now)) {
        // Left behind (its request's clean-up did not reach us), or an answer past its keepUntil:
        // swept here, at no cost otherwise.
        this.kv.delete(otherKey);
        continue;
      }
      if (other.answer) continue;
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
    const stored = this.kv.get(key);
    if (stored === undefined) return false;
    // An answer is the user's history (and names a grant to revoke): not pending, not removed here.
    if (parsePendingEntry(stored)?.answer) return false;
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
    if (!entry || entry.answer) return false;
    this.kv.put(key, { ...entry, detail });
    return true;
  }

  /**
   * Records the user's answer in place of the request's pending entry (one row): the request
   * leaves the pending list, and the answer is kept until `answer.keepUntil`, with `detail` (the
   * answered record, opaque here, returned by `answeredDetail`). In one synchronous step, so of
   * two answers to one request exactly one is recorded: "already_answered" for the other;
   * "not_listed" when the request was never listed here, or was withdrawn.
   */
  async answerPending(
    internalId: string,
    answer: RequestAnswer,
    detail?: string,
  ): Promise<"answered" | "already_answered" | "not_listed"> {
    const parsed = parseAnswer(answer);
    if (!isText(internalId, 128) || !parsed || (detail !== undefined && !isText(detail, MAX_DETAIL))) {
      return "not_listed";
    }
    const key = PENDING + internalId;
    const entry = parsePendingEntry(this.kv.get(key));
    if (!entry) return "not_listed";
    if (entry.answer) return "already_answered";
    this.kv.put(
      key,
      detail === undefined ? { view: entry.view, answer: parsed } : { view: entry.view, answer: parsed, detail },
    );
    this.broadcast({ type: "removed", internalId, reason: "decided" });
    return "answered";
  }

  /** The answered record `answerPending` kept for `internalId`, if it was answered (and kept). */
  async answeredDetail(internalId: string): Promise<string | undefined> {
    if (!isText(internalId, 128)) return undefined;
    const entry = parsePendingEntry(this.kv.get(PENDING + internalId));
    return entry?.answer ? entry.detail : undefined;
  }

  /** The user's answers still kept, newest first. */
  async answers(): Promise<AnsweredRequest[]> {
    const now = Math.floor(Date.now() / 1000);
    const answered: AnsweredRequest[] = [];
    for (const [, value] of this.kv.list({ prefix: PENDING })) {
      const entry = parsePendingEntry(value);
      if (entry?.answer && isLive(entry, now)) answered.push({ request: entry.view, answer: entry.answer });
    }
    return answered.sort((a, b) => b.answer.decidedAt - a.answer.decidedAt);
  }

  /** Marks the grants of these answers revoked (sign-out, withdrawal); returns how many changed. */
  async markRevoked(grantIds: string[]): Promise<number> {
    if (!Array.isArray(grantIds) || grantIds.length > 1000) return 0;
    const ids = new Set(grantIds.filter((id) => isText(id, 256)));
    let changed = 0;
    for (const [key, value] of this.kv.list({ prefix: PENDING })) {
      const entry = parsePendingEntry(value);
      if (!entry?.answer?.grantId || entry.answer.revoked || !ids.has(entry.answer.grantId)) continue;
      this.kv.put(key, { ...entry, answer: { ...entry.answer, revoked: true } });
      changed += 1;
    }
    return changed;
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
      if (!entry || entry.answer || entry.view.expiresAt <= now) continue;
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
        if (entry && isLive(entry, now)) return false;
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
    if (!SUBSCRIPTION_ID.test(id) || !isText(sealed, 8192) || !isText(label, 128) || !isText(service, 255)) {
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

  /**
   * The user's subscriptions, least recently stored first. With `pendingFor` (a request's
   * internal id), without those recordPushed noted as done with that request's notice: the
   * devices its retry must still reach.
   */
  async subscriptions(pendingFor?: string): Promise<StoredSubscription[]> {
    const done = new Set(
      pendingFor !== undefined && isText(pendingFor, 128)
        ? (parsePendingEntry(this.kv.get(PENDING + pendingFor))?.pushedTo ?? [])
        : [],
    );
    return this.storedSubscriptions()
      .filter((s) => !done.has(s.id))
      .map(({ storedAt: _, ...subscription }) => subscription);
  }

  /**
   * Notes that these subscriptions are done with the notice of pending request `internalId`
   * (delivered, or refused for good), so its retry leaves them out (one row; called only when a
   * retry is needed). False if the request is not pending here: its retry then reaches every
   * device again (at least once, as before).
   */
  async recordPushed(internalId: string, subscriptionIds: string[]): Promise<boolean> {
    if (!isText(internalId, 128) || !isSubscriptionIdList(subscriptionIds)) return false;
    const key = PENDING + internalId;
    const entry = parsePendingEntry(this.kv.get(key));
    if (!entry || entry.answer) return false;
    const pushedTo = [...new Set([...(entry.pushedTo ?? []), ...subscriptionIds])].slice(0, MAX_PUSHED_TO);
    this.kv.put(key, { ...entry, pushedTo });
    return true;
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
