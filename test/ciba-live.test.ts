/**
 * Live /ciba pages (issue 16, src/ui/live.ts): the WebSocket route hands a signed-in user's
 * page to that user's Durable Object, which sends every change to the pending list at once; a
 * request from another site, without a session or without an upgrade is refused (RFC 6455
 * §4.1, §10.2). The page itself stays plain HTML with a script file.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { LiveEvent } from "../src/users/user-object";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { ISSUER } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "live-secret-0123456789";

beforeAll(async () => {
  await registerClient({
    client_id: "live-kiosk",
    client_name: "Live kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
  });
});

async function signedInUser() {
  const username = `live-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  const browser = new Browser();
  expect((await browser.signIn(username, `${username}-password`)).status).toBe(303);
  return { username, sub, browser };
}

const upgrade = { upgrade: "websocket", origin: new URL(ISSUER).origin };

/** Opens the page's socket and collects its events. */
async function openLive(browser: Browser) {
  const response = await browser.get("/ciba/live", upgrade);
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`no socket: ${response.status}`);
  const events: LiveEvent[] = [];
  ws.addEventListener("message", (event) => {
    if (event.data !== "pong") events.push(JSON.parse(String(event.data)));
  });
  ws.accept();
  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 1000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("no event within a second");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { ws, events, until };
}

describe("the /ciba page's WebSocket", () => {
  it("shows a new request within a second, and drops it once answered elsewhere", async () => {
    const { username, browser, sub } = await signedInUser();
    const page = await openLive(browser);
    await page.until(() => page.events.length >= 1);
    expect(page.events[0]).toEqual({ type: "list", requests: [] });

    const { body } = await backchannel("live-kiosk", SECRET, {
      scope: "openid",
      login_hint: username,
      binding_message: "LIVE 1",
    });
    const { internalId } = await requestFor(body.auth_req_id);
    await page.until(() => page.events.some((e) => e.type === "added"));
    expect(page.events.find((e) => e.type === "added")).toMatchObject({
      type: "added",
      request: { internalId, clientId: "live-kiosk", clientName: "Live kiosk", bindingMessage: "LIVE 1" },
    });

    const answered = await new BackchannelAuthenticationInteractionService(
      (await import("cloudflare:workers")).env,
    ).completeLoginRequest({ internalId, scopesValuesConsented: [] }, { subject: sub });
    expect(answered.ok).toBe(true);
    await page.until(() => page.events.some((e) => e.type === "removed"));
    expect(page.events.find((e) => e.type === "removed")).toEqual({ type: "removed", internalId, reason: "decided" });
    page.ws.close(1000, "done");
  });

  it("RFC 6455 §10.2: refuses another site's page (Origin), and a page without Origin", async () => {
    const { browser } = await signedInUser();
    expect((await browser.get("/ciba/live", { ...upgrade, origin: "https://attacker.example" })).status).toBe(403);
    expect((await browser.get("/ciba/live", { upgrade: "websocket" })).status).toBe(403);
  });

  it("refuses a browser without a session (401), and a plain GET (426)", async () => {
    expect((await new Browser().get("/ciba/live", upgrade)).status).toBe(401);
    const { browser } = await signedInUser();
    const plain = await browser.get("/ciba/live", { origin: upgrade.origin });
    expect(plain.status).toBe(426);
    expect(plain.headers.get("upgrade")).toBe("websocket");
  });

  it("the page works without JavaScript and loads its script from a file (script-src 'self')", async () => {
    const { browser } = await signedInUser();
    const response = await browser.get("/ciba");
    const html = await response.text();
    expect(html).toContain('id="pending-list"');
    expect(html).toContain('data-live="/ciba/live"');
    expect(html).toContain('<script src="/assets/live.js"');
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    const script = await browser.get("/assets/live.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("new WebSocket(");
  });
});
