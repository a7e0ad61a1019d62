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
 * The alarm does two jobs: deliver the user notification (with retries and backoff) and, once
 * the request is past expiry plus the grace period, delete it.
 */
import { DurableObject } from "cloudflare:workers";
import { loadSettings } from "../config";
import type { Bindings } from "../env";
import {
  type BackchannelAuthenticationRequest,
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  expiresAt,
  type PollOutcome,
} from "./model";
import { deliverLoginNotification } from "./notifications";

/** RFC 8628 §3.5 / CIBA §11: each slow_down adds this many seconds to the request's interval. */
const SLOW_DOWN_STEP = 5;

export class BackchannelRequestObject extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  /** Last poll time (ms). In memory only: losing it on eviction just forgives one fast poll. */
  private lastPollAt: number | undefined;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS request (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      auth_req_id_hash TEXT NOT NULL,
      record TEXT NOT NULL
    )`);
  }

  /** Stores a new request; false if this object already holds one (a colliding id). */
  async create(record: BackchannelAuthenticationRequest, authReqIdHash: string): Promise<boolean> {
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
      request.amr = completion.amr ?? ["pwd"];
      request.acr = completion.acr ?? request.authenticationContextReferenceClasses[0];
    }
    this.save(request);
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
    this.sql.exec("DELETE FROM request");
    await this.ctx.storage.deleteAlarm();
  }

  override async alarm(): Promise<void> {
    const request = this.load();
    if (!request) return;
    const settings = loadSettings(this.env);
    const now = Date.now();
    const deleteAt = (expiresAt(request) + settings.cibaExpiredGrace) * 1000;
    if (now >= deleteAt) {
      this.sql.exec("DELETE FROM request");
      await this.env.DB.prepare("DELETE FROM backchannel_login_index WHERE internal_id = ?")
        .bind(request.internalId)
        .run();
      return;
    }
    if (request.notificationStatus === "pending" && !request.isComplete && now < expiresAt(request) * 1000) {
      const retryAt = await deliverLoginNotification(this.env, settings, request);
      // The delivery awaited the network: re-read, as a poll or completion may have run meanwhile.
      const latest = this.load();
      if (!latest) return;
      latest.notificationAttempts += 1;
      latest.notificationStatus = retryAt === "sent" ? "sent" : retryAt === "failed" ? "failed" : "pending";
      this.save(latest);
      if (typeof retryAt === "number") {
        await this.ctx.storage.setAlarm(retryAt);
        return;
      }
    }
    await this.ctx.storage.setAlarm(deleteAt);
  }

  private load(): BackchannelAuthenticationRequest | undefined {
    const row = this.sql.exec<{ record: string }>("SELECT record FROM request WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.record) as BackchannelAuthenticationRequest) : undefined;
  }

  private save(request: BackchannelAuthenticationRequest): void {
    this.sql.exec("UPDATE request SET record = ? WHERE id = 1", JSON.stringify(request));
  }
}
