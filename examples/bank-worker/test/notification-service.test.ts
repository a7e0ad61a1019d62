/** The bank's notifier keeps edge-op's contract: a failure worth retrying is a RetryableNotificationError. */
import { env } from "cloudflare:workers";
import { type BackchannelUserLoginRequest, RetryableNotificationError } from "edge-op";
import { describe, expect, it } from "vitest";
import { KvNotificationService, noticeKey } from "../src/notification-service";

const request: BackchannelUserLoginRequest = {
  internalId: "a".repeat(64),
  subject: "cust-1001",
  clientId: "fintech-app",
  clientName: "Fintech",
  bindingMessage: "PAY-1",
  requestedScopes: ["openid"],
  requestedResourceIndicators: [],
  authenticationContextReferenceClasses: [],
  authorizationDetails: [],
  authorizationDetailsText: [],
  expiresAt: Math.floor(Date.now() / 1000) + 60,
  approvalUrl: `https://bank.example/master/ciba/requests/${"a".repeat(64)}`,
};

describe("KvNotificationService", () => {
  it("records the notice under the customer and the request", async () => {
    await new KvNotificationService(env.NOTIFICATIONS).sendLoginRequest(request);
    const stored = await env.NOTIFICATIONS.get(noticeKey(request.subject, request.internalId), "json");
    expect(stored).toMatchObject({ clientName: "Fintech", bindingMessage: "PAY-1", approvalUrl: request.approvalUrl });
  });

  it("turns a storage failure into edge-op's RetryableNotificationError, so the alarm tries again", async () => {
    // The bank's own storage refusing a write (KV answers 429 to more than one write per second to a key).
    const refusing = { put: async () => Promise.reject(new Error("KV PUT failed: 429 Too Many Requests")) };
    const service = new KvNotificationService(refusing as unknown as KVNamespace);
    await expect(service.sendLoginRequest(request)).rejects.toBeInstanceOf(RetryableNotificationError);
  });
});
