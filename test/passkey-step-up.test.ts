/**
 * Step-up at approval (issue 16): a CIBA request whose acr_values ask for `phr` (OpenID EAP ACR
 * Values §2, phishing-resistant) can only be approved with a passkey assertion verified in that
 * same interaction (amr `pop`). The request's own state transition refuses anything else, so a
 * password-only session cannot approve it whatever page or API it comes through; denial stays
 * possible. The ID token then carries acr "phr" and the RFC 8176 amr of the passkey.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ACR_VALUES_SUPPORTED, satisfiedAcr } from "../src/authn/acr";
import type { BackchannelAuthenticationRequest } from "../src/ciba/model";
import * as state from "../src/ciba/request-state";
import { PASSKEY_AMR } from "../src/webauthn/amr";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, requestFor, store } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const T0 = 1_800_000_000;
const at = (seconds: number) => (T0 + seconds) * 1000;

function phrRequest(overrides: Partial<BackchannelAuthenticationRequest> = {}): BackchannelAuthenticationRequest {
  return {
    internalId: "b".repeat(64),
    creationTime: T0,
    lifetime: 300,
    clientId: "bank",
    clientName: "Bank",
    subject: "alice",
    requestedScopes: ["openid", "payments"],
    requestedResourceIndicators: [],
    authenticationContextReferenceClasses: ["phr"],
    isComplete: false,
    status: "pending",
    deliveryMode: "poll",
    interval: 5,
    notificationStatus: "pending",
    notificationAttempts: 0,
    ...overrides,
  };
}

const approve = { internalId: "b".repeat(64), subject: "alice", scopesValuesConsented: ["openid", "payments"] };

describe("EAP ACR Values §2 phr: approval needs a passkey assertion in the same interaction", () => {
  it("a password-only approval (amr pwd) of a phr request is refused and changes nothing", () => {
    const { outcome, save } = state.complete(phrRequest(), { ...approve, amr: ["pwd"] }, at(10));
    expect(outcome).toEqual({ ok: false, reason: "step_up_required" });
    expect(save).toBeUndefined();
  });

  it("an approval whose authentication is unknown (a bearer-token caller) is refused too", () => {
    const { outcome } = state.complete(phrRequest(), { ...approve, amr: undefined }, at(10));
    expect(outcome).toEqual({ ok: false, reason: "step_up_required" });
  });

  it("phr among several acr_values still needs the passkey (the client may insist on it later)", () => {
    const request = phrRequest({ authenticationContextReferenceClasses: ["phr", "urn:edge-op:acr:pwd"] });
    expect(state.complete(request, { ...approve, amr: ["pwd"] }, at(10)).outcome).toEqual({
      ok: false,
      reason: "step_up_required",
    });
  });

  it("a passkey step-up (amr pop user mfa) approves it, with acr phr and that amr (RFC 8176)", () => {
    const { outcome, save } = state.complete(phrRequest(), { ...approve, amr: [...PASSKEY_AMR] }, at(10));
    expect(outcome.ok).toBe(true);
    expect(save).toMatchObject({ status: "approved", acr: "phr", amr: ["pop", "user", "mfa"] });
  });

  it("denying needs no step-up", () => {
    const { outcome, save } = state.complete(
      phrRequest(),
      { ...approve, scopesValuesConsented: [], amr: ["pwd"] },
      at(10),
    );
    expect(outcome.ok).toBe(true);
    expect(save?.status).toBe("denied");
  });

  it("phr is met by pop only, never by a password", () => {
    expect(satisfiedAcr(["phr"], ["pwd"])).toBeUndefined();
    expect(satisfiedAcr(["phr"], [...PASSKEY_AMR])).toBe("phr");
  });
});

describe("discovery", () => {
  it("acr_values_supported lists phr, which edge-op can now satisfy", async () => {
    expect(ACR_VALUES_SUPPORTED).toContain("phr");
    const metadata = (await (await call("/.well-known/openid-configuration")).json()) as {
      acr_values_supported: string[];
    };
    expect(metadata.acr_values_supported).toContain("phr");
  });
});

describe("through the Worker: a phr request and a session without a step-up", () => {
  const SECRET = "phr-kiosk-secret-0123456789";
  let rita = "";

  beforeAll(async () => {
    await registerClient({
      client_id: "phr-kiosk",
      client_secret: SECRET,
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
      scope: "openid profile",
    });
    rita = await registerUser({ username: "rita", password: "rita-password" });
  });

  async function phrRequestFor(user: string): Promise<string> {
    const { status, body } = await backchannel("phr-kiosk", SECRET, {
      scope: "openid profile",
      login_hint: user,
      acr_values: "phr",
      binding_message: "Pay 5 EUR",
    });
    expect(status).toBe(200);
    return (await requestFor(body.auth_req_id)).internalId;
  }

  it("the /ciba page refuses a password session's approval with 403; the request stays pending", async () => {
    const internalId = await phrRequestFor("rita");
    const browser = new Browser();
    await browser.signIn("rita", "rita-password");
    const page = await browser.get(`/ciba/requests/${internalId}`);
    const csrf = Browser.csrfOf(await page.text());
    const answer = await browser.post(`/ciba/requests/${internalId}`, { csrf, action: "approve", scope: "profile" });
    expect(answer.status).toBe(403);
    expect((await store().getByInternalId(internalId))?.status).toBe("pending");
  });

  it("the authenticator API with the cookie refuses it with 403 step_up_required", async () => {
    const internalId = await phrRequestFor("rita");
    const browser = new Browser();
    await browser.signIn("rita", "rita-password");
    const response = await browser.send(`/api/ciba/requests/${internalId}/approve`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: ISSUER },
      body: "{}",
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: "step_up_required" });
  });

  it("a session signed in with a passkey earlier (amr pop) still needs the step-up at approval", async () => {
    const internalId = await phrRequestFor("rita");
    const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["openid"] },
      { subject: rita, sessionId: "s1", authTime: Math.floor(Date.now() / 1000) - 3600, amr: [...PASSKEY_AMR] },
    );
    expect(outcome).toEqual({ ok: false, reason: "step_up_required" });
  });

  it("with a passkey assertion verified for this approval (the page passes its amr) it is approved with acr phr", async () => {
    const internalId = await phrRequestFor("rita");
    const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["openid", "profile"], amr: [...PASSKEY_AMR] },
      { subject: rita, sessionId: "s1", amr: ["pwd"] },
    );
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.request).toMatchObject({ acr: "phr", amr: ["pop", "user", "mfa"] });
  });
});
