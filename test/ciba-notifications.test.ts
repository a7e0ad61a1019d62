/**
 * BackchannelAuthenticationUserNotificationService: the built-in log and webhook notifiers,
 * run from the request's alarm with retries, against a real HTTP receiver (test helper).
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BackchannelAuthenticationRequest } from "../src/ciba/model";
import { hmacHex, WebhookNotificationService } from "../src/ciba/notifications";
import { loadSettings } from "../src/config";
import { backchannel, CIBA_GRANT, nextAlarm, poll, requestFor, store, stubFor } from "./helpers/ciba";
import { dropMemory } from "./helpers/eviction";
import { registerClient, registerUser } from "./helpers/fixtures";
import { useCibaServices } from "./helpers/services";

const SECRET = "bank-secret-0123456789";
const WEBHOOK_SECRET = "webhook-signing-secret";
let restore: (() => void) | undefined;

beforeAll(async () => {
  await registerClient({
    client_id: "bank",
    client_name: "Bank teller",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
  });
  await registerUser({ username: "grace", password: "grace-password" });
});

afterEach(() => restore?.());

async function program(path: string, answers: { status: number }[]) {
  await fetch(`${env.TEST_HELPER_URL}/_program${path}`, { method: "PUT", body: JSON.stringify(answers) });
}

async function received(path: string): Promise<{ headers: Record<string, string>; body: string }[]> {
  return (await fetch(`${env.TEST_HELPER_URL}/_received${path}`)).json();
}

function useWebhook(path: string) {
  restore = useCibaServices({
    notificationService: () => new WebhookNotificationService(`${env.TEST_HELPER_URL}${path}`, WEBHOOK_SECRET, 2000),
  });
}

/** Runs the request's alarm until its notification is no longer pending. */
async function settle(internalId: string): Promise<BackchannelAuthenticationRequest> {
  for (let i = 0; i < 20; i++) {
    const request = await store().getByInternalId(internalId);
    if (!request) throw new Error("the request vanished");
    if (request.notificationStatus !== "pending") return request;
    await runDurableObjectAlarm(stubFor(internalId));
  }
  throw new Error("notification never settled");
}

async function newRequest() {
  const { body } = await backchannel("bank", SECRET, {
    scope: "openid",
    login_hint: "grace",
    binding_message: "Teller 2",
  });
  return requestFor(body.auth_req_id);
}

describe("webhook notifier", () => {
  it("POSTs a signed notice with internal id, client name, binding message, scopes, expiry and approval URL", async () => {
    useWebhook("/hooks/ok");
    const request = await newRequest();
    expect((await settle(request.internalId)).notificationStatus).toBe("sent");

    const [notice] = await received("/hooks/ok");
    const body = JSON.parse(notice?.body ?? "{}");
    expect(body).toEqual({
      type: "ciba.login_request",
      internal_id: request.internalId,
      subject: request.subject,
      client_id: "bank",
      client_name: "Bank teller",
      binding_message: "Teller 2",
      scopes: ["openid"],
      authorization_details_text: [],
      expires_at: request.creationTime + 300,
      approval_url: `http://localhost:8787/ciba/requests/${request.internalId}`,
    });
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(notice?.headers["edge-op-signature"] ?? "") ?? [];
    expect(v1).toBe(await hmacHex(WEBHOOK_SECRET, `${t}.${notice?.body}`));
  });

  it("retries a 5xx with backoff from the alarm, then succeeds", async () => {
    useWebhook("/hooks/flaky");
    await program("/hooks/flaky", [{ status: 503 }, { status: 502 }, { status: 200 }]);
    const request = await newRequest();
    const settled = await settle(request.internalId);
    expect(settled.notificationStatus).toBe("sent");
    expect(settled.notificationAttempts).toBe(3);
    expect(await received("/hooks/flaky")).toHaveLength(3);
  });

  it("gives up at once on a 4xx, and marks the notification failed (visible, not silent)", async () => {
    useWebhook("/hooks/refuses");
    await program("/hooks/refuses", [{ status: 400 }]);
    const request = await newRequest();
    const settled = await settle(request.internalId);
    expect(settled.notificationStatus).toBe("failed");
    expect(settled.notificationAttempts).toBe(1);
  });

  it("marks the notification failed after the maximum attempts", async () => {
    useWebhook("/hooks/down");
    await program("/hooks/down", [{ status: 500 }]);
    const request = await newRequest();
    const settled = await settle(request.internalId);
    expect(settled.notificationStatus).toBe("failed");
    expect(settled.notificationAttempts).toBe(5);
  });

  it("does not notify for a request the user already answered", async () => {
    useWebhook("/hooks/late");
    await program("/hooks/late", [{ status: 503 }]);
    const request = await newRequest();
    await runDurableObjectAlarm(stubFor(request.internalId));
    const { BackchannelAuthenticationInteractionService } = await import("./helpers/provider");
    await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId: request.internalId, scopesValuesConsented: ["openid"] },
      { subject: request.subject },
    );
    const before = (await received("/hooks/late")).length;
    await runDurableObjectAlarm(stubFor(request.internalId));
    expect(await received("/hooks/late")).toHaveLength(before);
  });
});

describe("log notifier (the local default)", () => {
  it("marks the notification sent", async () => {
    const request = await newRequest();
    expect((await settle(request.internalId)).notificationStatus).toBe("sent");
  });
});

describe("issue 18: a poll-mode request has one alarm; its polls guard the first notice", () => {
  async function started() {
    const { body } = await backchannel("bank", SECRET, { scope: "openid", login_hint: "grace" });
    return { authReqId: body.auth_req_id, request: await requestFor(body.auth_req_id) };
  }

  it("the alarm set at create is the clean-up time (expiry + CIBA_EXPIRED_GRACE), not a notice guard", async () => {
    useWebhook("/hooks/one-alarm");
    const { request } = await started();
    const grace = loadSettings(env).cibaExpiredGrace;
    expect(await nextAlarm(request.internalId)).toBe((request.creationTime + request.lifetime + grace) * 1000);
  });

  it("a first notice whose instance was lost is sent by the next poll (late, not lost); a poll to the same instance sends nothing", async () => {
    useWebhook("/hooks/lost-notice");
    const { authReqId, request } = await started();
    await expect.poll(async () => (await received("/hooks/lost-notice")).length).toBe(1);
    expect((await poll("bank", SECRET, authReqId)).body.error).toBe("authorization_pending");
    expect(await received("/hooks/lost-notice")).toHaveLength(1);
    // The instance that sent it is gone, and with it the memory that the notice succeeded.
    await dropMemory(env.BACKCHANNEL_REQUESTS, "evicted");
    // (The new instance has also forgotten the last poll's time: no slow_down.)
    expect((await poll("bank", SECRET, authReqId)).body.error).toBe("authorization_pending");
    await expect.poll(async () => (await received("/hooks/lost-notice")).length).toBe(2);
    expect(JSON.parse((await received("/hooks/lost-notice"))[1]?.body ?? "{}").internal_id).toBe(request.internalId);
  });
});
