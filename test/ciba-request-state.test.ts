/**
 * A backchannel request's state transitions (src/ciba/request-state.ts) as plain functions:
 * no Durable Object, no storage, no clock. The object that applies them atomically is tested
 * through the Worker in the other ciba-*.test.ts files.
 */
import { describe, expect, it } from "vitest";
import type { BackchannelAuthenticationRequest } from "../src/ciba/model";
import * as state from "../src/ciba/request-state";

const T0 = 1_800_000_000; // epoch seconds when the request was made
const at = (seconds: number) => (T0 + seconds) * 1000;

function request(overrides: Partial<BackchannelAuthenticationRequest> = {}): BackchannelAuthenticationRequest {
  return {
    internalId: "a".repeat(64),
    creationTime: T0,
    lifetime: 300,
    clientId: "bank",
    clientName: "Bank",
    subject: "alice",
    requestedScopes: ["openid", "profile"],
    requestedResourceIndicators: [],
    authenticationContextReferenceClasses: ["urn:edge-op:acr:pwd"],
    isComplete: false,
    status: "pending",
    deliveryMode: "poll",
    interval: 5,
    notificationStatus: "pending",
    notificationAttempts: 0,
    ...overrides,
  };
}

describe("poll (CIBA §11), in the order the spec and the issue require", () => {
  const input = (lastPollAt?: number) => ({ clientId: "bank", lastPollAt });

  it("invalid_grant for no request, another client's, a used one, a push one; nothing saved", () => {
    expect(state.poll(undefined, input(), at(1)).outcome.kind).toBe("invalid_grant");
    expect(state.poll(request(), { clientId: "other", lastPollAt: undefined }, at(1)).outcome.kind).toBe(
      "invalid_grant",
    );
    expect(state.poll(request({ status: "consumed" }), input(), at(1))).toEqual({
      outcome: { kind: "invalid_grant", reason: "auth_req_id was already used" },
    });
    expect(state.poll(request({ deliveryMode: "push" }), input(), at(1)).save).toBeUndefined();
  });

  it("slow_down within the interval of the previous poll, and the interval grows by 5 s (RFC 8628 §3.5)", () => {
    const { outcome, save } = state.poll(request(), input(at(10)), at(12));
    expect(outcome).toEqual({ kind: "slow_down", interval: 10 });
    expect(save?.interval).toBe(10);
    expect(state.poll(request(), input(at(10)), at(15)).outcome.kind).toBe("authorization_pending");
  });

  it("slow_down comes before expired_token; expired_token before the answer", () => {
    expect(state.poll(request({ status: "approved" }), input(at(299)), at(300)).outcome.kind).toBe("slow_down");
    expect(state.poll(request({ status: "approved" }), input(), at(300)).outcome.kind).toBe("expired_token");
    expect(state.poll(request({ status: "denied" }), input(), at(299)).outcome.kind).toBe("access_denied");
  });

  it("approved consumes the request: exactly one poll gets it", () => {
    const first = state.poll(request({ status: "approved" }), input(), at(20));
    expect(first.outcome.kind).toBe("approved");
    expect(first.save?.status).toBe("consumed");
    expect(state.poll(first.save, input(), at(40)).outcome).toEqual({
      kind: "invalid_grant",
      reason: "auth_req_id was already used",
    });
  });
});

describe("complete (the user's answer)", () => {
  const answer = { internalId: "a".repeat(64), subject: "alice", scopesValuesConsented: ["profile"], amr: ["pwd"] };

  it("approves with openid kept, the time and method of authentication, and the acr that method met", () => {
    const { outcome, save, deliver } = state.complete(request(), answer, at(30));
    expect(outcome.ok).toBe(true);
    expect(save).toMatchObject({
      status: "approved",
      isComplete: true,
      authorizedScopes: ["openid", "profile"],
      authTime: T0 + 30,
      amr: ["pwd"],
      acr: "urn:edge-op:acr:pwd",
    });
    expect(deliver).toBe(false);
  });

  it("an answer whose authentication is unknown states no method and so no acr", () => {
    const { save } = state.complete(request(), { ...answer, amr: undefined }, at(30));
    expect(save).toMatchObject({ amr: [] });
    expect(save?.acr).toBeUndefined();
  });

  it("no consented scope denies", () => {
    expect(state.complete(request(), { ...answer, scopesValuesConsented: [] }, at(30)).save?.status).toBe("denied");
  });

  it("refuses another user, a second answer, an expired request and unrequested scopes, saving nothing", () => {
    const refused = (r: ReturnType<typeof state.complete>) => [r.outcome.ok ? "ok" : r.outcome.reason, r.save];
    expect(refused(state.complete(undefined, answer, at(1)))).toEqual(["not_found", undefined]);
    expect(refused(state.complete(request(), { ...answer, subject: "mallory" }, at(1)))).toEqual([
      "wrong_user",
      undefined,
    ]);
    expect(refused(state.complete(request({ isComplete: true }), answer, at(1)))).toEqual([
      "already_completed",
      undefined,
    ]);
    expect(refused(state.complete(request(), answer, at(300)))).toEqual(["expired", undefined]);
    expect(refused(state.complete(request(), { ...answer, scopesValuesConsented: ["email"] }, at(1)))).toEqual([
      "scope_not_requested",
      undefined,
    ]);
  });

  it("gives a ping or push request a result to deliver (CIBA §10.2, §10.3), for a denial too", () => {
    const { save, deliver } = state.complete(
      request({ deliveryMode: "ping" }),
      { ...answer, scopesValuesConsented: [] },
      at(1),
    );
    expect(deliver).toBe(true);
    expect(save).toMatchObject({ clientDeliveryStatus: "pending", clientDeliveryAttempts: 0 });
  });
});

describe("the alarm's work", () => {
  it("notifies only an open, unexpired request whose notice is pending; counts each attempt", () => {
    expect(state.needsUserNotification(request(), at(1))).toBe(true);
    expect(state.needsUserNotification(request({ isComplete: true }), at(1))).toBe(false);
    expect(state.needsUserNotification(request(), at(300))).toBe(false);
    const retried = state.notificationAttempted(request(), at(3));
    expect(retried).toMatchObject({ notificationAttempts: 1, notificationStatus: "pending" });
    expect(state.notificationAttempted(retried, "sent")).toMatchObject({
      notificationAttempts: 2,
      notificationStatus: "sent",
    });
  });

  it("an unanswered push request has expired_token to deliver once it expires (CIBA §10.3.1)", () => {
    const push = request({ deliveryMode: "push" });
    expect(state.expiryPush(push, at(299))).toBeUndefined();
    expect(state.expiryPush(push, at(300))).toMatchObject({
      clientDeliveryStatus: "pending",
      clientDeliveryAttempts: 0,
    });
    expect(state.awaitsExpiryPush(push, at(10))).toBe(true);
  });

  it("keeps pushed tokens only while their delivery is pending, and consumes an approved push request once", () => {
    const approved = request({ deliveryMode: "push", status: "approved", clientDeliveryStatus: "pending" });
    const consumed = state.consumedForPush(approved, "sealed");
    expect(consumed).toMatchObject({ status: "consumed", pushPayload: "sealed" });
    expect(state.consumedForPush(consumed, "again")).toBeUndefined();
    expect(state.pendingClientDelivery(consumed)).toBe(1);
    const retrying = state.clientDeliveryAttempted(consumed as BackchannelAuthenticationRequest, 1, at(5));
    expect(retrying).toMatchObject({ clientDeliveryStatus: "pending", pushPayload: "sealed" });
    const sent = state.clientDeliveryAttempted(retrying, 2, "sent");
    expect(sent.clientDeliveryStatus).toBe("sent");
    expect(sent).not.toHaveProperty("pushPayload");
  });

  it("wakes at the earliest retry, else at expiry plus grace, and then deletes the request", () => {
    const grace = 600;
    expect(state.nextAlarm(request(), { graceSeconds: grace, retries: [at(4)] }, at(2))).toEqual({
      delete: false,
      wakeAt: at(4),
    });
    expect(state.nextAlarm(request(), { graceSeconds: grace, retries: [] }, at(2))).toEqual({
      delete: false,
      wakeAt: at(300 + grace),
    });
    expect(state.nextAlarm(request(), { graceSeconds: grace, retries: [] }, at(300 + grace))).toEqual({ delete: true });
    // A delivery still pending keeps the request, whatever the time.
    const pending = request({ deliveryMode: "ping", clientDeliveryStatus: "pending" });
    expect(state.nextAlarm(pending, { graceSeconds: grace, retries: [] }, at(5000))).toEqual({
      delete: false,
      wakeAt: at(5000),
    });
  });
});
