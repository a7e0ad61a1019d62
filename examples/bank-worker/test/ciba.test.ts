/**
 * A CIBA poll flow through the bank's own services: its DirectoryUserValidator resolves the
 * login_hint over HTTP in the bank's directory, and its KvNotificationService records the
 * notice; the customer approves on edge-op's pages under /master; the client polls for tokens.
 */
import { env } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { BankNotice } from "../src/notification-service";
import { ALICE, Browser, basic, call, ISSUER, postForm, registerAlice, registerClient } from "./helpers";

let client: Awaited<ReturnType<typeof registerClient>>;

beforeAll(async () => {
  client = await registerClient({
    client_id: "fintech-app",
    grant_types: ["urn:openid:params:grant-type:ciba"],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
  });
  await registerAlice();
});

const backchannel = (fields: Record<string, string>) =>
  postForm("/master/bc-authorize", { scope: "openid profile", ...fields }, basic(client.client_id, client.secret));

const poll = (authReqId: string) =>
  postForm(
    "/master/token",
    { grant_type: "urn:openid:params:grant-type:ciba", auth_req_id: authReqId },
    basic(client.client_id, client.secret),
  );

/** The notice the bank's notification service recorded for this request (sent from an alarm). */
async function noticeFor(customerId: string, bindingMessage: string): Promise<BankNotice> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { keys } = await env.NOTIFICATIONS.list({ prefix: `notice:${customerId}:` });
    for (const { name } of keys) {
      const notice = JSON.parse((await env.NOTIFICATIONS.get(name)) ?? "{}") as BankNotice;
      if (notice.bindingMessage === bindingMessage) return notice;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no notice for ${customerId} with "${bindingMessage}"`);
}

describe("the bank's user validator (its directory, over HTTP)", () => {
  it("resolves a customer number edge-op's own user table does not know", async () => {
    const response = await backchannel({ login_hint: "1001", binding_message: "PAY-4821" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { auth_req_id: string; expires_in: number };
    expect(body.auth_req_id).toMatch(/^[A-Za-z0-9._-]{43,}$/);
    // createProvider's `settings` option: the bank gives its customers 60 s, not the default 300.
    expect(body.expires_in).toBe(60);
  });

  it("answers a login_hint the directory does not know with unknown_user_id (CIBA §13)", async () => {
    const response = await backchannel({ login_hint: "9999" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "unknown_user_id" });
  });

  it("answers a blocked customer with 403 access_denied", async () => {
    const response = await backchannel({ login_hint: "bob@bank.example" });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: "access_denied" });
  });

  it("answers 500 server_error, not a client error, when the directory is down", async () => {
    const response = await backchannel({ login_hint: "directory-outage" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "server_error", error_description: "internal error" });
  });

  it("refuses the hints this bank does not take with invalid_request", async () => {
    const response = await backchannel({ id_token_hint: "eyJhbGciOiJub25lIn0.e30." });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
  });
});

describe("a CIBA poll flow under /master", () => {
  it("notifies through the bank's service, is approved on the pages under /master, and gives the client tokens once", async () => {
    const created = (await (
      await backchannel({ login_hint: "alice@bank.example", binding_message: "PAY-7734" })
    ).json()) as { auth_req_id: string; interval: number };
    expect(await (await poll(created.auth_req_id)).json()).toMatchObject({ error: "authorization_pending" });

    // The bank's notification service recorded what the customer's app shows.
    const notice = await noticeFor(ALICE.sub, "PAY-7734");
    expect(notice).toMatchObject({ clientName: "Client fintech-app", bindingMessage: "PAY-7734" });
    expect(notice.approvalUrl.startsWith(`${ISSUER}/ciba/`)).toBe(true);
    expect(JSON.stringify(notice)).not.toContain(created.auth_req_id);

    // The customer opens the approval link, signs in, and approves.
    const browser = new Browser();
    let page = await browser.follow(await browser.get(notice.approvalUrl));
    let html = await page.text();
    expect(html).toContain('name="password"');
    page = await browser.follow(
      await browser.submit(html, 'name="password"', { username: ALICE.username, password: ALICE.password }),
    );
    html = await page.text();
    expect(html).toContain("PAY-7734");
    page = await browser.follow(await browser.submit(html, 'value="approve"', { action: "approve" }));
    expect(page.status).toBeLessThan(400);
    // Every cookie edge-op set is scoped to its base path.
    expect([...browser.cookies.values()].map((c) => c.path)).toEqual(Array(browser.cookies.size).fill("/master"));

    await new Promise((resolve) => setTimeout(resolve, created.interval * 1000 + 100));
    const tokens = await poll(created.auth_req_id);
    expect(tokens.status).toBe(200);
    const { id_token } = (await tokens.json()) as { id_token: string };
    const keys = createLocalJWKSet(await (await call("/master/jwks")).json());
    const { payload } = await jwtVerify(id_token, keys, { issuer: ISSUER, audience: client.client_id });
    expect(payload.sub).toBe(ALICE.sub);

    // CIBA §11: the auth_req_id is spent.
    await new Promise((resolve) => setTimeout(resolve, created.interval * 1000 + 100));
    expect(await (await poll(created.auth_req_id)).json()).toMatchObject({ error: "invalid_grant" });
  });
});
