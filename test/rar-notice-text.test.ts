/**
 * RFC 9396 §3 off the page: a phone app or a notice shows what the user approves, in the same
 * sentence the CIBA approval page shows ("Pay €42.00 to ACME Ltd, IBAN …8603"). The authenticator
 * API returns each detail and its text; the `log` and `webhook` notices and the notice a replaced
 * notifier gets (BackchannelUserLoginRequest) carry the text.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LogNotificationService, WebhookNotificationService } from "../src/ciba/notifications";
import type { BackchannelUserLoginRequest } from "../src/context";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { backchannel, CIBA_GRANT, requestFor, store, stubFor } from "./helpers/ciba";
import { registerAuthenticatorApp, registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER } from "./helpers/http";
import { provider } from "./helpers/provider";
import { useCibaServices } from "./helpers/services";

const SECRET = "rar-notice-secret-0123456789";
const payment = {
  type: "payment_initiation",
  actions: ["initiate"],
  instructedAmount: { currency: "EUR", amount: "42.00" },
  creditorName: "ACME Ltd",
  creditorAccount: { iban: "DE02100100109307118603" },
};
const SENTENCE = "Pay €42.00 to ACME Ltd, IBAN …8603";
let ines = "";
let restore: (() => void) | undefined;

beforeAll(async () => {
  await registerClient({
    client_id: "rar-notice-till",
    client_name: "Payment till",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid",
  });
  await registerAuthenticatorApp();
  ines = await registerUser({ username: "ines-rar", password: "ines-rar-password" });
});

afterEach(() => {
  restore?.();
  restore = undefined;
  vi.restoreAllMocks();
});

async function startPayment() {
  const { status, body } = await backchannel("rar-notice-till", SECRET, {
    scope: "openid",
    login_hint: "ines-rar",
    binding_message: "Till 3",
    authorization_details: JSON.stringify([payment]),
  });
  expect(status, JSON.stringify(body)).toBe(200);
  return requestFor(body.auth_req_id);
}

/** Runs the request's alarm until its first notice is no longer pending. */
async function settle(internalId: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const request = await store().getByInternalId(internalId);
    if (request?.notificationStatus !== "pending") return;
    await runDurableObjectAlarm(stubFor(internalId));
  }
  throw new Error("notification never settled");
}

describe("RFC 9396 §3: the details as readable text, beyond the approval page", () => {
  it("the text is the sentence the approval page renders", () => {
    expect(provider.context(env).authorizationDetails.render(payment)).toBe(SENTENCE);
  });

  it("authenticator API: GET /api/ciba/requests/{id} has authorization_details and their text", async () => {
    const { internalId } = await startPayment();
    const keys = await loadKeys(env.SIGNING_KEYS);
    const token = await mintAccessToken(keys, {
      issuer: ISSUER,
      subject: ines,
      clientId: "authenticator-app",
      audience: ISSUER,
      scope: "openid ciba:approve",
      lifetime: 60,
      claims: { sid: "app-session" },
    });
    const headers = { authorization: `Bearer ${token}` };
    const one = await call(`/api/ciba/requests/${internalId}`, { headers });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      id: internalId,
      binding_message: "Till 3",
      authorization_details: [payment],
      authorization_details_text: [SENTENCE],
    });
    const list = (await (await call("/api/ciba/requests", { headers })).json()) as {
      requests: { id: string; authorization_details_text: string[] }[];
    };
    expect(list.requests.find((r) => r.id === internalId)?.authorization_details_text).toEqual([SENTENCE]);
  });

  it("webhook notice: carries authorization_details_text", async () => {
    restore = useCibaServices({
      notificationService: () =>
        new WebhookNotificationService(`${env.TEST_HELPER_URL}/hooks/rar-text`, "webhook-secret", 2000),
    });
    const { internalId } = await startPayment();
    await settle(internalId);
    const received = (await (await fetch(`${env.TEST_HELPER_URL}/_received/hooks/rar-text`)).json()) as {
      body: string;
    }[];
    const notice = received.map((r) => JSON.parse(r.body)).find((body) => body.internal_id === internalId);
    expect(notice?.authorization_details_text).toEqual([SENTENCE]);
  });

  it("log notice: the ciba_login_request line carries the text", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    restore = useCibaServices({ notificationService: () => new LogNotificationService() });
    const { internalId } = await startPayment();
    await settle(internalId);
    const notice = lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .find((line) => line.event === "ciba_login_request" && line.approval_url.endsWith(internalId));
    expect(notice?.authorization_details).toEqual([SENTENCE]);
  });

  it("a replaced notifier gets authorizationDetailsText in BackchannelUserLoginRequest", async () => {
    const sent: BackchannelUserLoginRequest[] = [];
    restore = useCibaServices({
      notificationService: () => ({
        sendLoginRequest: async (request) => {
          sent.push(request);
        },
      }),
    });
    const { internalId } = await startPayment();
    await settle(internalId);
    const notice = sent.find((request) => request.internalId === internalId);
    expect(notice?.authorizationDetails).toEqual([payment]);
    expect(notice?.authorizationDetailsText).toEqual([SENTENCE]);
  });
});
