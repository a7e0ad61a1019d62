/**
 * Issue 19, "failures visible to the operator": a user notice, a ping or a push that fails for
 * good is kept in D1's delivery_failures (only then: a delivered one writes nothing) and listed
 * on the console's "Failed deliveries" page, after the request itself is gone. The client's
 * endpoint and the user's notification webhook are the loopback helper server answering 400
 * (which is not retried).
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BackchannelAuthenticationRequest } from "../src/ciba/model";
import { WebhookNotificationService } from "../src/ciba/notifications";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, requestFor, settleClientDelivery, store, stubFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { outsideUrl, program } from "./helpers/outside";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";
import { useCibaServices } from "./helpers/services";

const SECRET = "failures-secret-0123456789";
let fay = "";
let restore: (() => void) | undefined;

beforeAll(async () => {
  fay = await registerUser({ username: "fay", password: "fay-password" });
});

afterEach(() => restore?.());

async function failuresOf(requestId: string) {
  const { results } = await env.DB.prepare(
    "SELECT kind, client_id, subject, request_id, attempts, reason FROM delivery_failures WHERE request_id = ?",
  )
    .bind(requestId)
    .all();
  return results;
}

async function deliveryClient(mode: "ping" | "push", answer: number) {
  const clientId = `failures-${mode}-${crypto.randomUUID().slice(0, 6)}`;
  const path = `/notify/${clientId}`;
  await program(path, { status: answer });
  await registerClient({
    client_id: clientId,
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    scope: "openid",
    backchannel_token_delivery_mode: mode,
    backchannel_client_notification_endpoint: outsideUrl(path),
  });
  return clientId;
}

/** A request from `clientId` for fay, approved by her: the delivery to the client starts. */
async function approvedRequest(clientId: string): Promise<{ authReqId: string; internalId: string }> {
  const { status, body } = await backchannel(clientId, SECRET, {
    scope: "openid",
    login_hint: "fay",
    client_notification_token: "failures-notification-token",
  });
  expect(status).toBe(200);
  const { internalId } = await requestFor(body.auth_req_id);
  const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
    { internalId, scopesValuesConsented: [] },
    { subject: fay, sessionId: "sess-failures", authTime: 1_700_000_000, amr: ["pwd"] },
  );
  expect(outcome.ok).toBe(true);
  return { authReqId: body.auth_req_id, internalId };
}

async function adminBrowser(): Promise<Browser> {
  const username = `failures-admin-${crypto.randomUUID().slice(0, 6)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, ?)").bind(sub, 0).run();
  const browser = new Browser();
  expect((await browser.signIn(username, `${username}-password`, "/admin")).status).toBe(303);
  return browser;
}

describe("a client's ping or push endpoint refusing the delivery (CIBA §10.2)", () => {
  for (const mode of ["ping", "push"] as const) {
    it(`a ${mode} that fails for good is kept for the console, without the auth_req_id`, async () => {
      const clientId = await deliveryClient(mode, 400);
      const { authReqId, internalId } = await approvedRequest(clientId);
      expect((await settleClientDelivery(internalId)).clientDeliveryStatus).toBe("failed");

      const rows = await failuresOf(internalId);
      expect(rows).toEqual([
        expect.objectContaining({ kind: mode, client_id: clientId, subject: fay, request_id: internalId, attempts: 1 }),
      ]);
      expect(JSON.stringify(rows)).not.toContain(authReqId);

      const page = await (await adminBrowser()).get(`/admin/deliveries?client=${clientId}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(`${mode} to the client`);
      expect(html).toContain(internalId);
    });
  }

  it("a delivered ping writes no failure row", async () => {
    const clientId = await deliveryClient("ping", 204);
    const { internalId } = await approvedRequest(clientId);
    expect((await settleClientDelivery(internalId)).clientDeliveryStatus).toBe("sent");
    expect(await failuresOf(internalId)).toEqual([]);
  });
});

describe("the user's notification service failing for good", () => {
  it("is kept as a failed notice to the user", async () => {
    const path = `/webhook/failures-${crypto.randomUUID().slice(0, 6)}`;
    await program(path, { status: 400 });
    restore = useCibaServices({
      notificationService: () => new WebhookNotificationService(outsideUrl(path), "failures-webhook-secret", 2000),
    });
    const clientId = `failures-poll-${crypto.randomUUID().slice(0, 6)}`;
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
    });
    const { body } = await backchannel(clientId, SECRET, { scope: "openid", login_hint: "fay" });
    const { internalId } = await requestFor(body.auth_req_id);
    const settled = await settleNotice(internalId);
    expect(settled.notificationStatus).toBe("failed");
    expect(await failuresOf(internalId)).toEqual([
      expect.objectContaining({ kind: "user_notice", client_id: clientId, subject: fay, attempts: 1 }),
    ]);
    const html = await (await (await adminBrowser()).get("/admin/deliveries")).text();
    expect(html).toContain("notice to the user");
  });
});

/** Runs the request's alarm (and waits for the first notice sent at creation) until it settles. */
async function settleNotice(internalId: string): Promise<BackchannelAuthenticationRequest> {
  for (let i = 0; i < 40; i++) {
    const request = await store().getByInternalId(internalId);
    if (!request) throw new Error("the request vanished");
    if (request.notificationStatus !== "pending") return request;
    if (!(await runDurableObjectAlarm(stubFor(internalId)))) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the notice never settled");
}
