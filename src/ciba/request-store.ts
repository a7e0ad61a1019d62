/**
 * DurableObjectBackchannelRequestStore, the default BackchannelAuthenticationRequestStore
 * (src/stores.ts; the seed's IBackChannelAuthenticationRequestStore): one Durable Object per
 * request, plus the user's own object (src/users/user-object.ts) holding the user's pending
 * list, so the user's side lists them in one call and creating a request writes nothing to D1.
 * The list also caps how many requests a user can have pending: the entry is added only if the
 * user is under the caps, counted and inserted in one synchronous step of that object, before
 * the request's object exists, so a refused request never reaches the user. bc-authorize thus
 * makes one round trip to each of the two objects; the caller's own check (its per-user rate
 * limit) runs beside the first.
 *
 * The seed's get/update pair would make poll and complete two steps; here the state changes
 * are single calls into the request's object (`pollByAuthenticationRequestId`,
 * `completeByInternalId`), each atomic there.
 */
import { randomHandle, sha256Hex } from "../crypto/hash";
import type { Bindings } from "../env";
import { json, readStored } from "../parse";
import type {
  BackchannelAuthenticationRequestStore,
  CreateOutcome,
  NewBackchannelRequest,
  PendingLimits,
} from "../stores";
import { newGrantId } from "../tokens/grant";
import { newRefreshFamilyId } from "../tokens/refresh-tokens";
import { sealDeliverySecrets } from "./client-delivery";
import {
  type ApprovalIds,
  type BackchannelAuthenticationRequest,
  backchannelRequestRecord,
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  expiresAt,
  type PollOutcome,
} from "./model";
import { pendingDetail, pendingListOf, pendingView } from "./user-list";

/** auth_req_id: 256 bits from the CSPRNG, base64url (CIBA §7.3 allows [A-Za-z0-9._-]). */
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{43}$/;
const INTERNAL_ID = /^[0-9a-f]{64}$/;

export class DurableObjectBackchannelRequestStore implements BackchannelAuthenticationRequestStore {
  constructor(private readonly env: Bindings) {}

  /**
   * Stores a new request; returns the auth_req_id (shown once, to the client) and the record,
   * or, when the user already has `limits` pending requests, creates nothing.
   */
  async createRequest(
    input: NewBackchannelRequest,
    limits: PendingLimits,
    admit?: () => Promise<void>,
  ): Promise<CreateOutcome> {
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
    // The user's list first: it is where the caps are counted, and the request's object
    // notifies the user as soon as it exists.
    const list = await pendingListOf(this.env, request.subject);
    // The caller's own check (a rate limit) and the listing are independent round trips: side
    // by side. Nothing is created, so nobody notified, until both have said yes.
    const [listing, admission] = await Promise.allSettled([
      list.addPending(pendingView(request), limits, pendingDetail(request)),
      admit?.(),
    ]);
    if (admission.status === "rejected") {
      if (listing.status === "fulfilled" && listing.value.added) await list.removePending(internalId, "withdrawn");
      throw admission.reason;
    }
    if (listing.status === "rejected") throw listing.reason;
    const listed = listing.value;
    if (!listed.added) {
      if (listed.reason === "too_many_pending") return { created: false, reason: "too_many_pending" };
      throw new Error(`the user's pending list refused the request: ${listed.reason}`);
    }
    let created = false;
    try {
      created = await this.env.BACKCHANNEL_REQUESTS.get(id).create(request, authReqIdHash);
    } finally {
      if (!created) await list.removePending(internalId, "withdrawn");
    }
    // 256 random bits do not collide; if the object is somehow taken, fail rather than share it.
    if (!created) throw new Error("backchannel request id collision");
    return { created: true, authReqId, request };
  }

  /**
   * Pending, unexpired requests for a user (optionally for one client), oldest first: one call
   * to the user's object, whatever their number. The list may lag an answer by a moment.
   */
  async getLoginsForUser(subjectId: string, clientId?: string): Promise<BackchannelAuthenticationRequest[]> {
    const now = Math.floor(Date.now() / 1000);
    const details = await (await pendingListOf(this.env, subjectId)).listPendingDetails(clientId);
    return details.flatMap((detail) => {
      const request = readStored("pending backchannel request", json(backchannelRequestRecord), detail);
      return request && !request.isComplete && expiresAt(request) > now ? [request] : [];
    });
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
    const removed = await stub.remove();
    if (removed && !removed.isComplete) {
      await (await pendingListOf(this.env, removed.subject)).removePending(internalId, "withdrawn");
    }
  }

  async updateByInternalId(
    internalId: string,
    changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">,
  ): Promise<boolean> {
    const updated = await this.stubForInternalId(internalId)?.update(changes);
    if (!updated) return false;
    // The user's list shows these fields too (its copy of the record).
    if (!updated.isComplete) {
      await (await pendingListOf(this.env, updated.subject)).updatePendingDetail(internalId, pendingDetail(updated));
    }
    return true;
  }

  /** The token endpoint's atomic poll-and-consume. */
  async pollByAuthenticationRequestId(authReqId: string, clientId: string): Promise<PollOutcome> {
    const stub = await this.stubForAuthReqId(authReqId);
    if (!stub) return { kind: "invalid_grant", reason: "malformed auth_req_id" };
    return stub.poll(clientId);
  }

  /**
   * The user's answer, recorded atomically by the request's object, which also turns the
   * request's pending entry in the user's object into the answer (issue 18; see
   * ./request-object.ts). The grant's ids are drawn here, fixed in the request at approval, and
   * used by the token response.
   */
  async completeByInternalId(completion: CompleteBackchannelLoginRequest): Promise<CompletionOutcome> {
    const stub = this.stubForInternalId(completion.internalId);
    if (!stub) return { ok: false, reason: "not_found" };
    const ids: ApprovalIds = { grantId: newGrantId(), refreshFamilyId: newRefreshFamilyId() };
    return stub.complete({ ...completion, ids });
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
