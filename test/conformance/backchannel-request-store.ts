/**
 * The conformance suite of BackchannelAuthenticationRequestStore (src/stores.ts; CIBA §7, §11):
 * what any implementation, edge-op's Durable Object default or an integrator's own, must do.
 * Each check is a plain async function that throws when the store falls short, so a test can
 * also run one against a store made to be wrong and see it fail (test/conformance/stores.test.ts).
 *
 *   backchannelRequestStoreConformance("my store", () => new MyStore(env));
 */
import { describe, expect, it } from "vitest";
import type { BackchannelAuthenticationRequestStore, NewBackchannelRequest, PendingLimits } from "../../src/stores";

export type MakeBackchannelRequestStore = () => BackchannelAuthenticationRequestStore;

/** Ids no store issued: never a match, never a throw. */
export const MALFORMED_IDS = ["", "0", "../x", "%00", "💥", "a".repeat(5000), `${"0".repeat(64)}\n`, "Z".repeat(43)];

const ROOMY: PendingLimits = { perUser: 100, perUserAndClient: 100 };

/** A new poll-mode request for a user of its own (so caps never interfere between checks). */
export function newRequest(overrides: Partial<NewBackchannelRequest> = {}): NewBackchannelRequest {
  return {
    lifetime: 120,
    clientId: "conformance-client",
    clientName: "Conformance client",
    subject: `user-${crypto.randomUUID()}`,
    requestedScopes: ["openid", "profile"],
    requestedResourceIndicators: [],
    authenticationContextReferenceClasses: [],
    bindingMessage: "W4SCT",
    deliveryMode: "poll",
    interval: 5,
    ...overrides,
  };
}

async function created(store: BackchannelAuthenticationRequestStore, input = newRequest()) {
  const outcome = await store.createRequest(input, ROOMY);
  if (!outcome.created) throw new Error(`createRequest refused a request under roomy limits: ${outcome.reason}`);
  return outcome;
}

const approve = (store: BackchannelAuthenticationRequestStore, internalId: string, subject: string) =>
  store.completeByInternalId({ internalId, subject, scopesValuesConsented: ["openid", "profile"] });

export const backchannelRequestStoreChecks = {
  async "creates a request readable by its auth_req_id and by its internal id, which differ"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const input = newRequest();
    const { authReqId, request } = await created(store, input);
    // CIBA §7.3: at least 128 bits, in [A-Za-z0-9._-].
    expect(authReqId).toMatch(/^[A-Za-z0-9._-]{22,}$/);
    expect(request.internalId).not.toBe(authReqId);
    expect(request).toMatchObject({ subject: input.subject, clientId: input.clientId, status: "pending" });
    expect(await store.getByAuthenticationRequestId(authReqId)).toMatchObject({ internalId: request.internalId });
    expect(await store.getByInternalId(request.internalId)).toMatchObject({ subject: input.subject });
  },

  async "issues a new auth_req_id and internal id for every request"(make: MakeBackchannelRequestStore) {
    const store = make();
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => created(store)));
    expect(new Set(outcomes.map((o) => o.authReqId)).size).toBe(5);
    expect(new Set(outcomes.map((o) => o.request.internalId)).size).toBe(5);
  },

  async "finds nothing for unknown or malformed ids, without throwing"(make: MakeBackchannelRequestStore) {
    const store = make();
    const { authReqId, request } = await created(store);
    for (const id of [...MALFORMED_IDS, `${authReqId}x`, request.internalId.toUpperCase()]) {
      expect(await store.getByAuthenticationRequestId(id), id).toBeUndefined();
      expect(await store.getByInternalId(id), id).toBeUndefined();
      expect(await store.pollByAuthenticationRequestId(id, "conformance-client"), id).toMatchObject({
        kind: "invalid_grant",
      });
      expect(await store.completeByInternalId({ internalId: id, subject: request.subject }), id).toEqual({
        ok: false,
        reason: "not_found",
      });
      expect(await store.updateByInternalId(id, { description: "x" }), id).toBe(false);
      await store.removeByInternalId(id);
    }
    // The real one is untouched by all of that.
    expect(await store.getByInternalId(request.internalId)).toMatchObject({ status: "pending" });
  },

  async "does not mix up the handles: an internal id is not an auth_req_id, nor the reverse"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const { authReqId, request } = await created(store);
    expect(await store.getByAuthenticationRequestId(request.internalId)).toBeUndefined();
    expect(await store.pollByAuthenticationRequestId(request.internalId, request.clientId)).toMatchObject({
      kind: "invalid_grant",
    });
    expect(await store.getByInternalId(authReqId)).toBeUndefined();
  },

  async "answers a poll: pending, then slow_down when too soon (interval + 5 s), and invalid_grant to another client"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const { authReqId, request } = await created(store);
    expect(await store.pollByAuthenticationRequestId(authReqId, "another-client")).toMatchObject({
      kind: "invalid_grant",
    });
    expect(await store.pollByAuthenticationRequestId(authReqId, request.clientId)).toEqual({
      kind: "authorization_pending",
    });
    expect(await store.pollByAuthenticationRequestId(authReqId, request.clientId)).toEqual({
      kind: "slow_down",
      interval: request.interval + 5,
    });
  },

  async "approves once: the approved poll consumes the request, later polls are invalid_grant"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const { authReqId, request } = await created(store);
    expect(await approve(store, request.internalId, request.subject)).toMatchObject({ ok: true });
    const first = await store.pollByAuthenticationRequestId(authReqId, request.clientId);
    expect(first).toMatchObject({ kind: "approved", request: { authorizedScopes: ["openid", "profile"] } });
    expect(await store.pollByAuthenticationRequestId(authReqId, request.clientId)).toMatchObject({
      kind: "invalid_grant",
    });
  },

  async "hands an approved request to exactly one of 8 concurrent polls"(make: MakeBackchannelRequestStore) {
    const store = make();
    const { authReqId, request } = await created(store);
    await approve(store, request.internalId, request.subject);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => store.pollByAuthenticationRequestId(authReqId, request.clientId)),
    );
    expect(outcomes.filter((o) => o.kind === "approved")).toHaveLength(1);
    expect(outcomes.every((o) => ["approved", "invalid_grant", "slow_down"].includes(o.kind))).toBe(true);
  },

  async "records exactly one of 8 concurrent answers"(make: MakeBackchannelRequestStore) {
    const store = make();
    const { request } = await created(store);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.completeByInternalId({
          internalId: request.internalId,
          subject: request.subject,
          scopesValuesConsented: i % 2 === 0 ? ["openid"] : [],
        }),
      ),
    );
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.filter((a) => !a.ok)).toEqual(Array(7).fill({ ok: false, reason: "already_completed" }));
  },

  async "takes an answer only from the request's user, and only for requested scopes"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const { request } = await created(store);
    expect(await store.completeByInternalId({ internalId: request.internalId, subject: "someone-else" })).toEqual({
      ok: false,
      reason: "wrong_user",
    });
    expect(
      await store.completeByInternalId({
        internalId: request.internalId,
        subject: request.subject,
        scopesValuesConsented: ["openid", "email"],
      }),
    ).toEqual({ ok: false, reason: "scope_not_requested" });
    // Neither refusal answered the request.
    expect(await store.getByInternalId(request.internalId)).toMatchObject({ status: "pending", isComplete: false });
  },

  async "reports a denial as access_denied"(make: MakeBackchannelRequestStore) {
    const store = make();
    const { authReqId, request } = await created(store);
    expect(
      await store.completeByInternalId({
        internalId: request.internalId,
        subject: request.subject,
        scopesValuesConsented: [],
      }),
    ).toMatchObject({ ok: true, request: { status: "denied" } });
    expect(await store.pollByAuthenticationRequestId(authReqId, request.clientId)).toEqual({ kind: "access_denied" });
  },

  async "expires: past its lifetime a poll is expired_token, an answer is refused, and it is no longer listed"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const { authReqId, request } = await created(store, newRequest({ lifetime: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await store.pollByAuthenticationRequestId(authReqId, request.clientId)).toEqual({ kind: "expired_token" });
    expect(await approve(store, request.internalId, request.subject)).toEqual({ ok: false, reason: "expired" });
    expect(await store.getLoginsForUser(request.subject)).toEqual([]);
  },

  async "lists a user's pending requests, optionally from one client, and no one else's"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const subject = `user-${crypto.randomUUID()}`;
    const mine = await created(store, newRequest({ subject }));
    const fromOther = await created(store, newRequest({ subject, clientId: "other-client" }));
    await created(store); // another user's
    const ids = (list: { internalId: string }[]) => list.map((r) => r.internalId).sort();
    expect(ids(await store.getLoginsForUser(subject))).toEqual(
      [mine.request.internalId, fromOther.request.internalId].sort(),
    );
    expect(ids(await store.getLoginsForUser(subject, "other-client"))).toEqual([fromOther.request.internalId]);
    expect(await store.getLoginsForUser(`user-${crypto.randomUUID()}`)).toEqual([]);
  },

  async "caps pending requests per user and client atomically (2 of 6 concurrent creations)"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const subject = `user-${crypto.randomUUID()}`;
    const limits = { perUser: 3, perUserAndClient: 2 };
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => store.createRequest(newRequest({ subject }), limits)),
    );
    expect(outcomes.filter((o) => o.created)).toHaveLength(2);
    expect(outcomes.filter((o) => !o.created)).toEqual(Array(4).fill({ created: false, reason: "too_many_pending" }));
    // The user's own cap counts every client: one more from another client, then none.
    expect(await store.createRequest(newRequest({ subject, clientId: "other-client" }), limits)).toMatchObject({
      created: true,
    });
    expect(await store.createRequest(newRequest({ subject, clientId: "third-client" }), limits)).toEqual({
      created: false,
      reason: "too_many_pending",
    });
  },

  async "runs the caller's admission check once for a request it creates"(make: MakeBackchannelRequestStore) {
    const store = make();
    let calls = 0;
    const outcome = await store.createRequest(newRequest(), ROOMY, async () => {
      calls += 1;
    });
    expect(outcome.created).toBe(true);
    expect(calls).toBe(1);
  },

  async "creates nothing, and throws the check's error, when the caller's admission check refuses"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const input = newRequest();
    const refusal = new Error("over the per-user rate limit");
    await expect(
      store.createRequest(input, ROOMY, async () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    // Nothing listed for the user, and the user's cap is untouched: a request fits afterwards.
    expect(await store.getLoginsForUser(input.subject)).toEqual([]);
    const capOfOne = { perUser: 1, perUserAndClient: 1 };
    expect(await store.createRequest(newRequest({ subject: input.subject }), capOfOne)).toMatchObject({
      created: true,
    });
  },

  async "updates the descriptive fields only, never the state"(make: MakeBackchannelRequestStore) {
    const store = make();
    const { request } = await created(store);
    expect(
      await store.updateByInternalId(request.internalId, { description: "Pay 10 EUR", bindingMessage: "X7" }),
    ).toBe(true);
    expect(await store.getByInternalId(request.internalId)).toMatchObject({
      description: "Pay 10 EUR",
      bindingMessage: "X7",
      status: "pending",
      isComplete: false,
    });
  },

  async "forgets a removed request: reads find nothing, a poll is invalid_grant, an answer not_found"(
    make: MakeBackchannelRequestStore,
  ) {
    const store = make();
    const { authReqId, request } = await created(store);
    await store.removeByInternalId(request.internalId);
    expect(await store.getByInternalId(request.internalId)).toBeUndefined();
    expect(await store.getByAuthenticationRequestId(authReqId)).toBeUndefined();
    expect(await store.pollByAuthenticationRequestId(authReqId, request.clientId)).toMatchObject({
      kind: "invalid_grant",
    });
    expect(await approve(store, request.internalId, request.subject)).toEqual({ ok: false, reason: "not_found" });
  },
} satisfies Record<string, (make: MakeBackchannelRequestStore) => Promise<void>>;

export function backchannelRequestStoreConformance(name: string, make: MakeBackchannelRequestStore): void {
  describe(`BackchannelAuthenticationRequestStore conformance: ${name}`, () => {
    for (const [title, check] of Object.entries(backchannelRequestStoreChecks)) it(title, () => check(make));
  });
}
