/**
 * DurableObjectBackchannelRequestStore, the default BackchannelAuthenticationRequestStore
 * (src/stores.ts; the seed's IBackChannelAuthenticationRequestStore): one Durable Object per
 * request, plus a D1 index of pending requests by user so the user's
 * side can list them. The index also caps how many requests a user can have pending: the row
 * is inserted only if the user is under the caps, in one SQL statement (atomic in D1), before
 * the request's object exists, so a refused request never reaches the user.
 *
 * The seed's get/update pair would make poll and complete two steps; here the state changes
 * are single calls into the request's object (`pollByAuthenticationRequestId`,
 * `completeByInternalId`), each atomic there.
 */
import { randomHandle, sha256Hex } from "../crypto/hash";
import type { Bindings } from "../env";
import { object, readStored, str } from "../parse";
import type {
  BackchannelAuthenticationRequestStore,
  CreateOutcome,
  NewBackchannelRequest,
  PendingLimits,
} from "../stores";
import { sealDeliverySecrets } from "./client-delivery";
import {
  type BackchannelAuthenticationRequest,
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  expiresAt,
  type PollOutcome,
} from "./model";

const indexRow = object<{ internal_id: string }>({ internal_id: str });

/** auth_req_id: 256 bits from the CSPRNG, base64url (CIBA §7.3 allows [A-Za-z0-9._-]). */
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{43}$/;
const INTERNAL_ID = /^[0-9a-f]{64}$/;

export class DurableObjectBackchannelRequestStore implements BackchannelAuthenticationRequestStore {
  constructor(private readonly env: Bindings) {}

  /**
   * Stores a new request; returns the auth_req_id (shown once, to the client) and the record,
   * or, when the user already has `limits` pending requests, creates nothing.
   */
  async createRequest(input: NewBackchannelRequest, limits: PendingLimits): Promise<CreateOutcome> {
    const authReqId = randomHandle(32);
    const authReqIdHash = await sha256Hex(authReqId);
    const id = this.env.BACKCHANNEL_REQUESTS.idFromName(authReqIdHash);
    const { clientNotificationToken, ...fields } = input;
    const internalId = id.toString();
    const request: BackchannelAuthenticationRequest = {
      ...fields,
      internalId,
      creationTime: Math.floor(Date.now() / 1000),
      isComplete: false,
      status: "pending",
      notificationStatus: "pending",
      notificationAttempts: 0,
    };
    if (input.deliveryMode !== "poll") {
      if (!clientNotificationToken || !input.clientNotificationEndpoint) {
        throw new Error("ping and push requests need a client_notification_token and endpoint");
      }
      // Ping and push send the auth_req_id and the bearer token later, from the alarm: keep
      // both, encrypted and bound to this request.
      request.deliverySecrets = await sealDeliverySecrets(this.env, internalId, { authReqId, clientNotificationToken });
    }
    // The index row first: it is where the caps are counted, and the object notifies the user
    // as soon as it exists. (Two round trips: the cap is the price of the second.)
    if (!(await this.indexIfUnderLimits(request, limits))) return { created: false, reason: "too_many_pending" };
    let created = false;
    try {
      created = await this.env.BACKCHANNEL_REQUESTS.get(id).create(request, authReqIdHash);
    } finally {
      if (!created) await this.removeFromIndex(internalId);
    }
    // 256 random bits do not collide; if the object is somehow taken, fail rather than share it.
    if (!created) throw new Error("backchannel request id collision");
    return { created: true, authReqId, request };
  }

  /**
   * Adds the request to its user's index only if the user has fewer than `limits` unexpired
   * requests in it, from this client and in all. One INSERT … SELECT … WHERE: D1 runs a
   * statement atomically, so concurrent requests cannot all see the last free place.
   */
  private async indexIfUnderLimits(request: BackchannelAuthenticationRequest, limits: PendingLimits): Promise<boolean> {
    const result = await this.env.DB.prepare(
      `INSERT INTO backchannel_login_index (internal_id, subject, client_id, created_at, expires_at)
       SELECT ?1, ?2, ?3, ?4, ?5
       WHERE (SELECT COUNT(*) FROM backchannel_login_index WHERE subject = ?2 AND expires_at > ?4) < ?6
         AND (SELECT COUNT(*) FROM backchannel_login_index WHERE subject = ?2 AND expires_at > ?4 AND client_id = ?3) < ?7`,
    )
      .bind(
        request.internalId,
        request.subject,
        request.clientId,
        request.creationTime,
        expiresAt(request),
        limits.perUser,
        limits.perUserAndClient,
      )
      .run();
    return result.meta.changes === 1;
  }

  /** Pending, unexpired requests for a user (optionally for one client), oldest first. */
  async getLoginsForUser(subjectId: string, clientId?: string): Promise<BackchannelAuthenticationRequest[]> {
    const now = Math.floor(Date.now() / 1000);
    const query = clientId
      ? this.env.DB.prepare(
          "SELECT internal_id FROM backchannel_login_index WHERE subject = ? AND expires_at > ? AND client_id = ? ORDER BY created_at",
        ).bind(subjectId, now, clientId)
      : this.env.DB.prepare(
          "SELECT internal_id FROM backchannel_login_index WHERE subject = ? AND expires_at > ? ORDER BY created_at",
        ).bind(subjectId, now);
    const { results } = await query.all();
    const ids = results.flatMap((row) => readStored("backchannel_login_index", indexRow, row)?.internal_id ?? []);
    const requests = await Promise.all(ids.map((id) => this.getByInternalId(id)));
    // The object is the truth: the index may briefly list a request that was just completed.
    return requests.filter(
      (r): r is BackchannelAuthenticationRequest => r !== undefined && !r.isComplete && expiresAt(r) > now,
    );
  }

  async getByAuthenticationRequestId(authReqId: string): Promise<BackchannelAuthenticationRequest | undefined> {
    const stub = await this.stubForAuthReqId(authReqId);
    return (await stub?.read()) ?? undefined;
  }

  async getByInternalId(internalId: string): Promise<BackchannelAuthenticationRequest | undefined> {
    return (await this.stubForInternalId(internalId)?.read()) ?? undefined;
  }

  async removeByInternalId(internalId: string): Promise<void> {
    const stub = this.stubForInternalId(internalId);
    if (!stub) return;
    await stub.remove();
    await this.removeFromIndex(internalId);
  }

  async updateByInternalId(
    internalId: string,
    changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">,
  ): Promise<boolean> {
    return (await this.stubForInternalId(internalId)?.update(changes)) ?? false;
  }

  /** The token endpoint's atomic poll-and-consume. */
  async pollByAuthenticationRequestId(authReqId: string, clientId: string): Promise<PollOutcome> {
    const stub = await this.stubForAuthReqId(authReqId);
    if (!stub) return { kind: "invalid_grant", reason: "malformed auth_req_id" };
    return stub.poll(clientId);
  }

  /** The user's answer, recorded atomically; the request then leaves the user's pending list. */
  async completeByInternalId(completion: CompleteBackchannelLoginRequest): Promise<CompletionOutcome> {
    const stub = this.stubForInternalId(completion.internalId);
    if (!stub) return { ok: false, reason: "not_found" };
    const outcome = await stub.complete(completion);
    if (outcome.ok) await this.removeFromIndex(completion.internalId);
    return outcome;
  }

  private async removeFromIndex(internalId: string): Promise<void> {
    await this.env.DB.prepare("DELETE FROM backchannel_login_index WHERE internal_id = ?").bind(internalId).run();
  }

  /** Client input reaches an object only if it has the exact shape of an id we issue. */
  private async stubForAuthReqId(authReqId: string) {
    if (!AUTH_REQ_ID.test(authReqId)) return undefined;
    const ns = this.env.BACKCHANNEL_REQUESTS;
    return ns.get(ns.idFromName(await sha256Hex(authReqId)));
  }

  private stubForInternalId(internalId: string) {
    if (!INTERNAL_ID.test(internalId)) return undefined;
    const ns = this.env.BACKCHANNEL_REQUESTS;
    try {
      // idFromString also refuses ids minted for another namespace.
      return ns.get(ns.idFromString(internalId));
    } catch {
      return undefined;
    }
  }
}
