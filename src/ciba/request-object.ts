/**
 * One Durable Object per backchannel authentication request: a thin object around the pure
 * state transitions of ./request-state.ts. Every state change — poll, complete, consume — loads
 * the record, applies a transition and saves the result with no await in between, a
 * synchronous read-check-write that the runtime runs without interleaving; that is what makes
 * "exactly one token response" hold even when two token requests race, at any edge location.
 *
 * Addressing: the object's name is SHA-256(auth_req_id), so the token endpoint reaches it
 * without any index; the user's side reaches it by the object's id string (the internalId),
 * which reveals nothing about the auth_req_id.
 *
 * The alarm does three jobs: deliver the user notification (with retries and backoff); for ping
 * and push clients, deliver the result to the client's notification endpoint (after approval or
 * denial, and for push also at expiry), with retries and backoff; and, once the request is past
 * expiry plus the grace period and nothing is left to deliver, delete it. Both deliveries keep
 * their state in the record, and each alarm run schedules the earliest next thing to do.
 */
import { DurableObject } from "cloudflare:workers";
import type { RequestContext } from "../context";
import { logger } from "../log";
import { json, readStored } from "../parse";
import {
  type ClientPayload,
  mintPushTokens,
  openDeliverySecrets,
  openPushPayload,
  pushError,
  sealPushPayload,
  sendToClient,
} from "./client-delivery";
import {
  type BackchannelAuthenticationRequest,
  backchannelRequestRecord,
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  type PollOutcome,
} from "./model";
import { deliverLoginNotification } from "./notifications";
import type { BackchannelRequestObjectApi } from "./request-object-api";
import * as state from "./request-state";

/** A provider's BackchannelRequestObject class, as the Worker exports it. */
export type BackchannelRequestObjectClass = new (
  ctx: DurableObjectState,
  env: object,
) => DurableObject<object> & BackchannelRequestObjectApi;

/**
 * The Durable Object class of one provider: its alarm notifies through that provider's
 * notification service and mints with its stores and settings, taken from `contextOf(env)`
 * (createProvider calls this once; the Worker exports the class under the name its
 * wrangler.toml binding names).
 */
export function defineBackchannelRequestObject(
  contextOf: (env: object) => RequestContext,
): BackchannelRequestObjectClass {
  return class BackchannelRequestObject extends DurableObject<object> implements BackchannelRequestObjectApi {
    private readonly sql: SqlStorage;
    /** Whether the request table exists; undefined until first asked. */
    private tableExists: boolean | undefined;
    /** Last poll time (ms). In memory only: losing it on eviction just forgives one fast poll. */
    private lastPollAt: number | undefined;
    /** The alarm run in progress, so that overlapping runs queue instead of interleaving. */
    private alarmRun: Promise<void> = Promise.resolve();

    constructor(ctx: DurableObjectState, env: object) {
      super(ctx, env);
      this.sql = ctx.storage.sql;
    }

    /** Stores a new request; false if this object already holds one (a colliding id). */
    async create(record: BackchannelAuthenticationRequest, authReqIdHash: string): Promise<boolean> {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS request (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        auth_req_id_hash TEXT NOT NULL,
        record TEXT NOT NULL
      )`);
      this.tableExists = true;
      if (this.load()) return false;
      this.sql.exec(
        "INSERT INTO request (id, auth_req_id_hash, record) VALUES (1, ?, ?)",
        authReqIdHash,
        JSON.stringify(record),
      );
      // Notify the user straight away, from the alarm, so retries come for free.
      await this.ctx.storage.setAlarm(Date.now());
      return true;
    }

    async read(): Promise<BackchannelAuthenticationRequest | null> {
      return this.load() ?? null;
    }

    async poll(clientId: string): Promise<PollOutcome> {
      const now = Date.now();
      const { outcome, save } = state.poll(this.load(), { clientId, lastPollAt: this.lastPollAt }, now);
      if (outcome.kind !== "invalid_grant") this.lastPollAt = now;
      if (save) this.save(save);
      return outcome;
    }

    async complete(completion: CompleteBackchannelLoginRequest): Promise<CompletionOutcome> {
      const { outcome, save, deliver } = state.complete(this.load(), completion, Date.now());
      if (save) this.save(save);
      if (deliver) await this.ctx.storage.setAlarm(Date.now());
      return outcome;
    }

    async update(changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">): Promise<boolean> {
      const request = this.load();
      if (!request) return false;
      this.save(state.update(request, changes));
      return true;
    }

    async remove(): Promise<void> {
      await this.ctx.storage.deleteAlarm();
      await this.deleteEverything();
    }

    override async alarm(): Promise<void> {
      // The runtime runs one alarm at a time; a test's runDurableObjectAlarm can overlap a
      // scheduled one. Queue overlapping runs so that no delivery is ever in flight twice.
      const run = this.alarmRun.then(() => this.runAlarm());
      this.alarmRun = run.catch(() => undefined);
      return run;
    }

    private async runAlarm(): Promise<void> {
      if (!this.load()) return;
      const ctx = contextOf(this.env);
      const retries: number[] = [];
      const notificationRetry = await this.notifyUser(ctx);
      if (notificationRetry !== undefined) retries.push(notificationRetry);
      const expiry = state.expiryPush(this.load(), Date.now());
      if (expiry) this.save(expiry);
      const deliveryRetry = await this.deliverToClient(ctx);
      if (deliveryRetry !== undefined) retries.push(deliveryRetry);

      const request = this.load();
      if (!request) return;
      const next = state.nextAlarm(request, { graceSeconds: ctx.settings.cibaExpiredGrace, retries }, Date.now());
      if (!next.delete) {
        await this.ctx.storage.setAlarm(next.wakeAt);
        return;
      }
      await this.deleteEverything();
      await ctx.env.DB.prepare("DELETE FROM backchannel_login_index WHERE internal_id = ?")
        .bind(request.internalId)
        .run();
    }

    /** The user notification, while it is pending and the request open. Returns the retry time. */
    private async notifyUser(ctx: RequestContext): Promise<number | undefined> {
      const request = this.load();
      if (!state.needsUserNotification(request, Date.now())) return undefined;
      const outcome = await deliverLoginNotification(ctx.services, ctx.settings, request);
      // The delivery awaited the network: re-read, as a poll or completion may have run meanwhile.
      const latest = this.load();
      if (!latest) return undefined;
      this.save(state.notificationAttempted(latest, outcome));
      return typeof outcome === "number" ? outcome : undefined;
    }

    /** One attempt to deliver the result to a ping/push client. Returns the retry time. */
    private async deliverToClient(ctx: RequestContext): Promise<number | undefined> {
      const request = this.load();
      const attempt = state.pendingClientDelivery(request);
      if (!request || attempt === undefined) return undefined;
      const log = { internal_id: request.internalId, client_id: request.clientId, mode: request.deliveryMode, attempt };
      const secrets = await openDeliverySecrets(ctx.env, request);
      if (!secrets || !request.clientNotificationEndpoint) {
        logger.error("ciba_client_notification_failed", { ...log, reason: "no delivery secrets" });
        this.recordDelivery(attempt, "failed");
        return undefined;
      }
      const payload: ClientPayload =
        request.deliveryMode === "push"
          ? await this.pushPayload(ctx, request, secrets.authReqId)
          : { auth_req_id: secrets.authReqId };
      const outcome = await sendToClient(
        ctx.settings,
        request.clientNotificationEndpoint,
        secrets.clientNotificationToken,
        payload,
        log,
      );
      this.recordDelivery(attempt, outcome);
      return typeof outcome === "number" ? outcome : undefined;
    }

    /**
     * What to push. An approved request's tokens are minted once; then, in one synchronous step,
     * the request is used up and the payload kept (encrypted) so every retry sends the same tokens.
     */
    private async pushPayload(
      ctx: RequestContext,
      request: BackchannelAuthenticationRequest,
      authReqId: string,
    ): Promise<ClientPayload> {
      switch (request.status) {
        case "approved": {
          const payload = await mintPushTokens(ctx, request, authReqId);
          const sealed = await sealPushPayload(ctx.env, request.internalId, payload);
          const consumed = state.consumedForPush(this.load(), sealed);
          if (!consumed) return pushError("transaction_failed", authReqId);
          this.save(consumed);
          return payload;
        }
        case "consumed":
          return (await openPushPayload(ctx.env, request)) ?? pushError("transaction_failed", authReqId);
        case "denied":
          return pushError("access_denied", authReqId);
        case "pending":
          return pushError("expired_token", authReqId);
      }
    }

    private recordDelivery(attempt: number, outcome: "sent" | "failed" | number): void {
      const latest = this.load();
      if (latest) this.save(state.clientDeliveryAttempted(latest, attempt, outcome));
    }

    /**
     * The table is created by `create` only, not in the constructor: an object that is merely
     * asked about (an unknown or mistyped auth_req_id) then writes nothing, and one whose request
     * was deleted with deleteAll() leaves no storage behind.
     */
    private hasTable(): boolean {
      this.tableExists ??=
        this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'request'").toArray().length > 0;
      return this.tableExists;
    }

    /** Deletes the request and everything the object stored (the table included). */
    private async deleteEverything(): Promise<void> {
      await this.ctx.storage.deleteAll();
      this.tableExists = false;
    }

    private load(): BackchannelAuthenticationRequest | undefined {
      if (!this.hasTable()) return undefined;
      const row = this.sql.exec("SELECT record FROM request WHERE id = 1").toArray()[0];
      // A record that does not parse is treated as absent: the request is unknown from then on.
      return row ? readStored("backchannel request", json(backchannelRequestRecord), row.record) : undefined;
    }

    private save(request: BackchannelAuthenticationRequest): void {
      this.sql.exec("UPDATE request SET record = ? WHERE id = 1", JSON.stringify(request));
    }
  };
}
