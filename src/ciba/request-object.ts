/**
 * One Durable Object per backchannel authentication request. Every state change — poll,
 * complete, consume — is a synchronous read-check-write on the object's SQLite storage, which
 * the runtime runs without interleaving; that is what makes "exactly one token response" hold
 * even when two token requests race, at any edge location.
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
import { satisfiedAcr } from "../authn/acr";
import type { RequestContext } from "../context";
import { logger } from "../log";
import {
  type AttemptOutcome,
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
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  expiresAt,
  type PollOutcome,
} from "./model";
import { deliverLoginNotification } from "./notifications";
import type { BackchannelRequestObjectApi } from "./request-object-api";

/** RFC 8628 §3.5 / CIBA §11: each slow_down adds this many seconds to the request's interval. */
const SLOW_DOWN_STEP = 5;

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

    /** The token endpoint's question, answered in the order CIBA §11 and the issue require. */
    async poll(clientId: string): Promise<PollOutcome> {
      const request = this.load();
      if (!request || request.clientId !== clientId) return { kind: "invalid_grant", reason: "unknown auth_req_id" };
      if (request.status === "consumed") return { kind: "invalid_grant", reason: "auth_req_id was already used" };
      // C23: a push request's result goes only to the client's endpoint, never to /token as well.
      if (request.deliveryMode === "push") {
        return { kind: "invalid_grant", reason: "the result of a push-mode request is pushed to the client" };
      }

      const now = Date.now();
      const previous = this.lastPollAt;
      this.lastPollAt = now;
      if (previous !== undefined && now - previous < request.interval * 1000) {
        request.interval += SLOW_DOWN_STEP;
        this.save(request);
        return { kind: "slow_down", interval: request.interval };
      }
      if (now >= expiresAt(request) * 1000) return { kind: "expired_token" };
      if (request.status === "denied") return { kind: "access_denied" };
      if (request.status === "pending") return { kind: "authorization_pending" };

      request.status = "consumed";
      this.save(request);
      return { kind: "approved", request };
    }

    /** Records the user's answer (the interaction service's completeLoginRequest). */
    async complete(completion: CompleteBackchannelLoginRequest): Promise<CompletionOutcome> {
      const request = this.load();
      const now = Math.floor(Date.now() / 1000);
      if (!request) return { ok: false, reason: "not_found" };
      if (now >= expiresAt(request)) return { ok: false, reason: "expired" };
      if (request.isComplete) return { ok: false, reason: "already_completed" };
      if (completion.subject !== request.subject) return { ok: false, reason: "wrong_user" };

      const consented = [...new Set(completion.scopesValuesConsented ?? [])];
      if (consented.some((scope) => !request.requestedScopes.includes(scope))) {
        return { ok: false, reason: "scope_not_requested" };
      }
      request.isComplete = true;
      request.sessionId = completion.sessionId;
      request.description = completion.description;
      if (consented.length === 0) {
        request.status = "denied";
      } else {
        // openid is the protocol itself, not a permission: an approved CIBA request always has it.
        request.authorizedScopes = request.requestedScopes.filter((s) => s === "openid" || consented.includes(s));
        request.status = "approved";
        request.authTime = completion.authTime ?? now;
        // An approval whose authentication is unknown (a bearer-token caller) claims no method.
        request.amr = completion.amr ?? [];
        // OIDC Core §2: acr states the class the authentication met, never merely the one asked for.
        request.acr = satisfiedAcr(request.authenticationContextReferenceClasses, request.amr);
      }
      // CIBA §10.2, §10.3: ping and push clients are told of approval and denial alike.
      if (request.deliveryMode !== "poll") {
        request.clientDeliveryStatus = "pending";
        request.clientDeliveryAttempts = 0;
      }
      this.save(request);
      if (request.deliveryMode !== "poll") await this.ctx.storage.setAlarm(Date.now());
      return { ok: true, request };
    }

    /**
     * The seed's UpdateByInternalIdAsync: replaces the mutable, descriptive fields. State
     * transitions go through poll and complete, never through update.
     */
    async update(changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">): Promise<boolean> {
      const request = this.load();
      if (!request) return false;
      this.save({ ...request, description: changes.description, bindingMessage: changes.bindingMessage });
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
      const { settings } = ctx;
      const wakeAt: number[] = [];
      const notificationRetry = await this.notifyUser(ctx);
      if (notificationRetry !== undefined) wakeAt.push(notificationRetry);
      this.startExpiryPush();
      const deliveryRetry = await this.deliverToClient(ctx);
      if (deliveryRetry !== undefined) wakeAt.push(deliveryRetry);

      const request = this.load();
      if (!request) return;
      const now = Date.now();
      const deleteAt = (expiresAt(request) + settings.cibaExpiredGrace) * 1000;
      if (request.clientDeliveryStatus !== "pending") {
        if (now >= deleteAt) {
          await this.deleteEverything();
          await ctx.env.DB.prepare("DELETE FROM backchannel_login_index WHERE internal_id = ?")
            .bind(request.internalId)
            .run();
          return;
        }
        wakeAt.push(deleteAt);
      }
      if (awaitsExpiryPush(request)) wakeAt.push(expiresAt(request) * 1000);
      // Empty only if a delivery became pending while this run awaited: run again at once.
      await this.ctx.storage.setAlarm(wakeAt.length > 0 ? Math.min(...wakeAt) : now);
    }

    /** The user notification, while it is pending and the request open. Returns the retry time. */
    private async notifyUser(ctx: RequestContext): Promise<number | undefined> {
      const request = this.load();
      if (request?.notificationStatus !== "pending" || request.isComplete) return undefined;
      if (Date.now() >= expiresAt(request) * 1000) return undefined;
      const retryAt = await deliverLoginNotification(ctx.services, ctx.settings, request);
      // The delivery awaited the network: re-read, as a poll or completion may have run meanwhile.
      const latest = this.load();
      if (!latest) return undefined;
      latest.notificationAttempts += 1;
      latest.notificationStatus = retryAt === "sent" ? "sent" : retryAt === "failed" ? "failed" : "pending";
      this.save(latest);
      return typeof retryAt === "number" ? retryAt : undefined;
    }

    /** CIBA §10.3.1: a push request that expired unanswered is pushed as `expired_token`. */
    private startExpiryPush(): void {
      const request = this.load();
      if (request?.deliveryMode !== "push" || request.isComplete || request.clientDeliveryStatus) return;
      if (Date.now() < expiresAt(request) * 1000) return;
      request.clientDeliveryStatus = "pending";
      request.clientDeliveryAttempts = 0;
      this.save(request);
    }

    /** One attempt to deliver the result to a ping/push client. Returns the retry time. */
    private async deliverToClient(ctx: RequestContext): Promise<number | undefined> {
      const request = this.load();
      if (request?.clientDeliveryStatus !== "pending") return undefined;
      const attempt = (request.clientDeliveryAttempts ?? 0) + 1;
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
          const latest = this.load();
          // Nothing else consumes a push request (poll refuses it); if something did, send nothing.
          if (latest?.status !== "approved") return pushError("transaction_failed", authReqId);
          latest.status = "consumed";
          latest.pushPayload = sealed;
          this.save(latest);
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

    private recordDelivery(attempt: number, outcome: AttemptOutcome): void {
      const latest = this.load();
      if (!latest) return;
      latest.clientDeliveryAttempts = attempt;
      latest.clientDeliveryStatus = typeof outcome === "number" ? "pending" : outcome;
      // Pushed tokens are not kept once delivered or given up on.
      if (typeof outcome !== "number") delete latest.pushPayload;
      this.save(latest);
    }

    private load(): BackchannelAuthenticationRequest | undefined {
      if (!this.hasTable()) return undefined;
      const row = this.sql.exec<{ record: string }>("SELECT record FROM request WHERE id = 1").toArray()[0];
      return row ? (JSON.parse(row.record) as BackchannelAuthenticationRequest) : undefined;
    }

    private save(request: BackchannelAuthenticationRequest): void {
      this.sql.exec("UPDATE request SET record = ? WHERE id = 1", JSON.stringify(request));
    }
  };
}

/** A push request still open: its alarm must also fire at expiry, to push `expired_token`. */
function awaitsExpiryPush(request: BackchannelAuthenticationRequest): boolean {
  return (
    request.deliveryMode === "push" &&
    !request.isComplete &&
    request.clientDeliveryStatus === undefined &&
    Date.now() < expiresAt(request) * 1000
  );
}
