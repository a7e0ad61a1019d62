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
 * Storage (issue 18): the record is one key of the synchronous key-value API (`ctx.storage.kv`,
 * no `CREATE TABLE`), and a poll-mode request costs two rows written in its whole life here: the
 * record at `create` and its one alarm (the clean-up time). The user's answer is written once,
 * in the user's object (src/users/user-object.ts), where it replaces the request's pending entry
 * in place and is the user's history and the grant's link to its session anyway: that entry is
 * the answer's durable copy, and this object keeps it in memory (`answered`). An instance that
 * did not see the answer (after an eviction or a restart) asks the user's object once before
 * it answers anything (`checkAnswer`). A ping or push request also writes the answer here, as
 * its deliveries keep their state in the record. The token response that uses the request up
 * deletes everything (`deleteAll()`, which also removes the alarm), so a used request cannot be
 * used again and leaves no storage behind: a poll flow writes 4 billed rows in all (the pending
 * entry, the record, the alarm, the answer) and nothing to D1.
 *
 * The user is notified from `create` itself, after the request is stored (in the background:
 * `ctx.waitUntil`), not from an alarm set for the purpose; only an outcome other than a first
 * success is written down (a retry is then scheduled on the same alarm). If the object is
 * evicted or crashes while that first notice is in flight, the notice must be sent late, not
 * lost: a poll-mode request's own polls guard it (a poll reaching an instance that did not start
 * the notice, and finding it neither confirmed nor attempted, sends it: at-least-once), so the
 * request keeps its one alarm; a ping or push request, which nobody polls, has its alarm guard it
 * (2 s after create, then re-armed for clean-up: one more alarm write).
 *
 * The alarm then does three jobs: retry the user notification (with backoff); for ping and push
 * clients, deliver the result to the client's notification endpoint (after approval or denial,
 * and for push also at expiry), with retries and backoff; and, once the request is past expiry
 * plus the grace period and nothing is left to deliver, take it off its user's pending list
 * (src/users/user-object.ts) and delete it. Both deliveries keep their state in the record, and
 * each alarm run schedules the earliest next thing to do.
 */
import { DurableObject } from "cloudflare:workers";
import type { RequestContext } from "../context";
import { logger } from "../log";
import { DeliveryFailureStore, type DeliveryKind } from "../outbound/delivery-failures";
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
  type AnswerFields,
  answerFieldsRecord,
  type BackchannelAuthenticationRequest,
  backchannelRequestRecord,
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  type PollOutcome,
} from "./model";
import { deliverLoginNotification } from "./notifications";
import type { BackchannelRequestObjectApi } from "./request-object-api";
import * as state from "./request-state";
import { answerEntryOf, pendingListOf } from "./user-list";

/** The one key the record is stored under. */
const RECORD = "request";

/** The record as stored: JSON text, parsed field by field. */
const storedRecord = json(backchannelRequestRecord);

/** When the alarm checks on a first notice that may have died in flight (the first retry's delay). */
const FIRST_NOTICE_GUARD_MS = 2_000;

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
    private readonly kv: SyncKvStorage;
    /** Last poll time (ms). In memory only: losing it on eviction just forgives one fast poll. */
    private lastPollAt: number | undefined;
    /**
     * This instance started the first notice (from `create`, or a poll guarding it). In memory
     * only: a new instance that finds the notice unconfirmed cannot know whether it was lost.
     */
    private noticeStarted = false;
    /**
     * The first notice went out (from `create`). Kept in memory, not written: it is folded into
     * the record by the next write that happens anyway, and read() reports it.
     */
    private firstNoticeSent = false;
    /**
     * A poll-mode request's answer, as recorded in the user's object (its durable copy); laid
     * over the stored record by `load`.
     */
    private answered: AnswerFields | undefined;
    /** Whether this instance knows any answer there is (it created the request, or asked the user's object). */
    private answerChecked = false;
    /** The last stored text parsed and its record (see `parse`). */
    private parsed: { text: unknown; record: BackchannelAuthenticationRequest | undefined } | undefined;
    /** Used up by a token response in this instance: nothing answers for it any more. */
    private spent = false;
    /** Whether a pre-issue-18 `request` table exists; undefined until first asked. */
    private legacyTable: boolean | undefined;
    /** The alarm run in progress, so that overlapping runs queue instead of interleaving. */
    private alarmRun: Promise<void> = Promise.resolve();

    constructor(ctx: DurableObjectState, env: object) {
      super(ctx, env);
      this.kv = ctx.storage.kv;
    }

    /**
     * Stores a new request; false if this object already holds one (a colliding id). Sets the
     * one alarm (clean-up, or a push request's expiry) and notifies the user in the background.
     */
    async create(record: BackchannelAuthenticationRequest, _authReqIdHash: string): Promise<boolean> {
      // A new object (an older one would have been created under the old table, never twice).
      this.legacyTable = false;
      if (this.load()) return false;
      this.kv.put(RECORD, JSON.stringify(record));
      this.answerChecked = true;
      const ctx = contextOf(this.env);
      const next = state.nextAlarm(record, { graceSeconds: ctx.settings.cibaExpiredGrace, retries: [] }, Date.now());
      // Until the first notice's outcome is stored, something must guard it: if the process dies
      // while the notice is in flight, it is sent late but not lost (at-least-once; a success is
      // only remembered in memory). A poll-mode request's polls do (`guardFirstNotice`), so its
      // one alarm is the clean-up; a ping or push request's alarm does, for one extra alarm write.
      const guarded = record.deliveryMode !== "poll" && state.needsUserNotification(record, Date.now());
      const guard = guarded ? Date.now() + FIRST_NOTICE_GUARD_MS : Infinity;
      await this.ctx.storage.setAlarm(next.delete ? Date.now() : Math.min(next.wakeAt, guard));
      this.startFirstNotice(ctx);
      return true;
    }

    async read(): Promise<BackchannelAuthenticationRequest | null> {
      await this.checkAnswer();
      return this.load() ?? null;
    }

    async poll(clientId: string): Promise<PollOutcome> {
      await this.checkAnswer();
      const now = Date.now();
      const { outcome, save } = state.poll(this.load(), { clientId, lastPollAt: this.lastPollAt }, now);
      if (outcome.kind !== "invalid_grant") this.lastPollAt = now;
      if (outcome.kind === "approved" && outcome.request.deliveryMode !== "push") {
        // Used up: nothing of it is needed again (a second poll finds no request: invalid_grant),
        // so delete it all, the alarm included, instead of writing "consumed".
        this.spent = true;
        await this.deleteEverything();
        return outcome;
      }
      if (save) this.save(save);
      if (outcome.kind === "authorization_pending") this.guardFirstNotice();
      return outcome;
    }

    /**
     * The user's answer. It is recorded in the user's object first, in place of the request's
     * pending entry, in one synchronous step there: of two answers exactly one is recorded. For a
     * poll-mode request that entry is the answer's only durable copy (no row written here); a
     * request not listed there (stored before the list existed) keeps its answer here instead.
     */
    async complete(completion: CompleteBackchannelLoginRequest): Promise<CompletionOutcome> {
      await this.checkAnswer();
      const { outcome, save, deliver } = state.complete(this.load(), completion, Date.now());
      if (!outcome.ok || !save) return outcome;
      const ctx = contextOf(this.env);
      const list = await pendingListOf(ctx.env, save.subject);
      const recorded = await list.answerPending(
        save.internalId,
        answerEntryOf(save, ctx.settings.refreshTokenTtl),
        JSON.stringify(state.answerFieldsOf(save)),
      );
      // After the await: another answer may have been recorded meanwhile, there or here.
      if (recorded === "already_answered" || this.load()?.isComplete !== false) {
        return { ok: false, reason: "already_completed" };
      }
      if (recorded === "answered" && save.deliveryMode === "poll") this.answered = state.answerFieldsOf(save);
      else this.save(save);
      if (deliver) await this.ctx.storage.setAlarm(Date.now());
      return outcome;
    }

    async update(
      changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">,
    ): Promise<BackchannelAuthenticationRequest | null> {
      await this.checkAnswer();
      const request = this.load();
      if (!request) return null;
      const updated = state.update(request, changes);
      this.save(updated);
      return updated;
    }

    async remove(): Promise<BackchannelAuthenticationRequest | null> {
      const request = this.load();
      await this.ctx.storage.deleteAlarm();
      await this.deleteEverything();
      return request ?? null;
    }

    override async alarm(): Promise<void> {
      // The runtime runs one alarm at a time; a test's runDurableObjectAlarm can overlap a
      // scheduled one. Queue overlapping runs so that no delivery is ever in flight twice.
      return this.queue(() => this.runAlarm());
    }

    private queue(work: () => Promise<void>): Promise<void> {
      const run = this.alarmRun.then(work);
      this.alarmRun = run.catch(() => undefined);
      return run;
    }

    /** Sends the first notice in the background, queued like an alarm run (never in flight twice). */
    private startFirstNotice(ctx: RequestContext): void {
      this.noticeStarted = true;
      this.ctx.waitUntil(this.queue(() => this.firstNotice(ctx)));
    }

    /**
     * A poll-mode request's guard of its first notice, instead of an alarm: an instance that did
     * not start the notice (the one that did was evicted or crashed, maybe with the notice in
     * flight) and finds it neither confirmed nor attempted sends it now, late. A failed attempt
     * is recorded, and its retry belongs to the alarm.
     */
    private guardFirstNotice(): void {
      const request = this.load();
      if (this.noticeStarted || !request || request.deliveryMode !== "poll" || request.notificationAttempts > 0) return;
      if (!state.needsUserNotification(request, Date.now())) return;
      this.startFirstNotice(contextOf(this.env));
    }

    /**
     * The first notice, right after `create`. A success is only remembered (no write); a
     * failure is recorded, and a retry scheduled on the alarm.
     */
    private async firstNotice(ctx: RequestContext): Promise<void> {
      const request = this.load();
      if (!state.needsUserNotification(request, Date.now())) return;
      const outcome = await deliverLoginNotification(ctx.services, ctx.settings, request);
      if (outcome === "sent") {
        this.firstNoticeSent = true;
        return;
      }
      const latest = this.load();
      if (!latest) return;
      this.save(state.notificationAttempted(latest, outcome));
      if (outcome === "failed") await this.recordUserNoticeFailure(ctx, latest);
      if (typeof outcome === "number") await this.wakeNoLaterThan(outcome);
    }

    /** Moves the alarm earlier (a retry); never later than what is already due. */
    private async wakeNoLaterThan(at: number): Promise<void> {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    }

    private async runAlarm(): Promise<void> {
      // An answer this instance did not see must be known before notifying the user.
      await this.checkAnswer();
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
      // Off the user's list first (an answered request left it already): if that call fails,
      // the alarm is retried and nothing is lost.
      if (!request.isComplete) {
        await (await pendingListOf(ctx.env, request.subject)).removePending(request.internalId, "expired");
      }
      await this.deleteEverything();
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
      if (outcome === "failed") await this.recordUserNoticeFailure(ctx, latest);
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
        await this.recordFailure(
          ctx,
          request,
          attempt,
          "no delivery secrets (the request's sealed handles could not be opened)",
        );
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
      if (outcome === "failed") {
        await this.recordFailure(
          ctx,
          request,
          attempt,
          `not delivered after ${attempt} attempt(s): see ciba_client_notification_failed in the log`,
        );
      }
      return typeof outcome === "number" ? outcome : undefined;
    }

    private recordUserNoticeFailure(ctx: RequestContext, request: BackchannelAuthenticationRequest): Promise<void> {
      const reason = "the notification service failed: see ciba_notification_failed in the log";
      return this.recordFailure(ctx, request, request.notificationAttempts + 1, reason, "user_notice");
    }

    /**
     * A delivery that failed for good, kept for the operator's console (issue 19) after this
     * request is gone. Only a failure writes it; if D1 is down it is logged and the request goes
     * on (its own record says "failed" too).
     */
    private async recordFailure(
      ctx: RequestContext,
      request: BackchannelAuthenticationRequest,
      attempts: number,
      reason: string,
      kind: DeliveryKind = request.deliveryMode === "push" ? "push" : "ping",
    ): Promise<void> {
      const failure = {
        kind,
        clientId: request.clientId,
        subject: request.subject,
        requestId: request.internalId,
        attempts,
        reason,
      };
      await new DeliveryFailureStore(ctx.env.DB).record(failure).catch((error: unknown) => {
        logger.warn("delivery_failure_not_recorded", {
          internal_id: request.internalId,
          kind,
          reason: String(error).slice(0, 200),
        });
      });
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

    /** Deletes the request and everything the object stored (the alarm included). */
    private async deleteEverything(): Promise<void> {
      await this.ctx.storage.deleteAll();
      this.legacyTable = false;
    }

    /**
     * Learns a poll-mode request's answer from the user's object, once per instance, when this
     * instance has not seen it (it did not create the request: it was evicted or restarted).
     * One call to that object; none for a request that is already complete here, or ping/push.
     */
    private async checkAnswer(): Promise<void> {
      if (this.answerChecked) return;
      const request = this.load();
      if (!request || request.isComplete || request.deliveryMode !== "poll") {
        this.answerChecked = request !== undefined;
        return;
      }
      const detail = await (await pendingListOf(contextOf(this.env).env, request.subject)).answeredDetail(
        request.internalId,
      );
      this.answerChecked = true;
      if (detail === undefined || this.answered) return;
      const answered = readStored("backchannel answer", json(answerFieldsRecord), detail);
      if (answered?.isComplete && answered.internalId === request.internalId) this.answered = answered;
    }

    /**
     * The record, with a first notice sent by this instance folded in. An object that is merely
     * asked about (an unknown or mistyped auth_req_id) reads one key and writes nothing.
     */
    private load(): BackchannelAuthenticationRequest | undefined {
      if (this.spent) return undefined;
      const stored = this.kv.get(RECORD) ?? this.legacyRecord();
      // A record that does not parse is treated as absent: the request is unknown from then on.
      const record = stored === undefined ? undefined : this.parse(stored);
      const request = record && this.answered && !record.isComplete ? state.withAnswer(record, this.answered) : record;
      if (request && this.firstNoticeSent && request.notificationStatus === "pending") {
        return state.notificationAttempted(request, "sent");
      }
      return request;
    }

    /**
     * The stored record, parsed; the same stored text is not parsed again (a call loads the
     * record two or three times). Records are never changed in place, only replaced, so the
     * parsed object can be shared.
     */
    private parse(stored: unknown): BackchannelAuthenticationRequest | undefined {
      if (this.parsed !== undefined && this.parsed.text === stored) return this.parsed.record;
      const record = readStored("backchannel request", storedRecord, stored);
      this.parsed = { text: stored, record };
      return record;
    }

    /**
     * A request stored before issue 18 (a `request` table), so that requests in flight at the
     * deploy keep working; written back to the key-value API at their next change.
     */
    private legacyRecord(): unknown {
      const sql = this.ctx.storage.sql;
      this.legacyTable ??=
        sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'request'").toArray().length > 0;
      if (!this.legacyTable) return undefined;
      return sql.exec("SELECT record FROM request WHERE id = 1").toArray()[0]?.record;
    }

    private save(request: BackchannelAuthenticationRequest): void {
      this.kv.put(RECORD, JSON.stringify(request));
    }
  };
}
