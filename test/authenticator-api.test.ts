/** The authenticator-app JSON API over the interaction service (docs/authenticator-api.md). */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, postForm } from "./helpers/http";

const SECRET = "app-kiosk-secret-0123456789";
let judy = "";
let mike = "";

beforeAll(async () => {
  await registerClient({
    client_id: "app-kiosk",
    client_name: "Library kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "client_credentials"],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile email api:read",
  });
  judy = await registerUser({ username: "judy", password: "judy-password" });
  mike = await registerUser({ username: "mike", password: "mike-password" });
});

async function bearerFor(subject: string, scope = "openid"): Promise<Record<string, string>> {
  const keys = await loadKeys(env.SIGNING_KEYS);
  const token = await mintAccessToken(keys, {
    issuer: ISSUER,
    subject,
    clientId: "authenticator-app",
    audience: ISSUER,
    scope,
    lifetime: 60,
    claims: { sid: "app-session" },
  });
  return { authorization: `Bearer ${token}` };
}

async function startRequest(user = "judy") {
  const { body } = await backchannel("app-kiosk", SECRET, {
    scope: "openid profile email",
    login_hint: user,
    binding_message: "Shelf 9",
  });
  return { authReqId: body.auth_req_id, internalId: (await requestFor(body.auth_req_id)).internalId };
}

function api(path: string, headers: Record<string, string>, init: RequestInit = {}) {
  return call(`/api/ciba/requests${path}`, { ...init, headers: { ...headers, ...(init.headers as object) } });
}

describe("with a Bearer access token", () => {
  it("lists the user's pending requests and shows one", async () => {
    const { internalId } = await startRequest();
    const auth = await bearerFor(judy);
    const list = (await (await api("", auth)).json()) as { requests: { id: string }[] };
    expect(list.requests.map((r) => r.id)).toContain(internalId);
    const one = await api(`/${internalId}`, auth);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      id: internalId,
      client_name: "Library kiosk",
      binding_message: "Shelf 9",
      scopes: ["openid", "profile", "email"],
    });
  });

  it("approves with a subset of scopes; the client then gets exactly those", async () => {
    const { authReqId, internalId } = await startRequest();
    const response = await api(`/${internalId}/approve`, await bearerFor(judy), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ scopes: ["profile"] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: internalId, status: "approved", scopes: ["openid", "profile"] });
    const tokens = await poll("app-kiosk", SECRET, authReqId);
    expect(tokens.body.scope).toBe("openid profile");
    expect((await requestFor(authReqId)).sessionId).toBe("app-session");
  });

  it("denies; a second answer is 409, another user's request is 404", async () => {
    const { authReqId, internalId } = await startRequest();
    expect((await api(`/${internalId}/deny`, await bearerFor(judy), { method: "POST" })).status).toBe(200);
    expect((await poll("app-kiosk", SECRET, authReqId)).body.error).toBe("access_denied");
    const again = await api(`/${internalId}/approve`, await bearerFor(judy), { method: "POST" });
    expect(again.status).toBe(409);
    const mine = await startRequest("judy");
    expect((await api(`/${mine.internalId}`, await bearerFor(mike))).status).toBe(404);
    expect((await api(`/${mine.internalId}/approve`, await bearerFor(mike), { method: "POST" })).status).toBe(404);
  });

  it("refuses scopes that were not requested, and malformed bodies, with 400", async () => {
    const { internalId } = await startRequest();
    const auth = { ...(await bearerFor(judy)), "content-type": "application/json" };
    for (const body of [
      JSON.stringify({ scopes: ["phone"] }),
      JSON.stringify({ scopes: "email" }),
      "{",
      "[]",
      '{"description": 5}',
    ]) {
      const response = await api(`/${internalId}/approve`, auth, { method: "POST", body });
      expect(response.status, body).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
    }
  });

  it("refuses missing, invalid and client-only tokens", async () => {
    expect((await api("", {})).status).toBe(401);
    expect((await api("", { authorization: "Bearer nope" })).status).toBe(401);
    const cc = (await (
      await postForm("/token", { grant_type: "client_credentials" }, basic("app-kiosk", SECRET))
    ).json()) as { access_token: string };
    expect((await api("", { authorization: `Bearer ${cc.access_token}` })).status).toBe(403);
  });
});

describe("with the browser session", () => {
  it("works for GET, and for POST only with a JSON content type (no cross-site forms)", async () => {
    const { internalId } = await startRequest("mike");
    const browser = new Browser();
    await browser.signIn("mike", "mike-password");
    const list = await browser.get("/api/ciba/requests");
    expect(list.status).toBe(200);
    const form = await browser.post(`/api/ciba/requests/${internalId}/approve`, { scopes: "email" });
    expect(form.status).toBe(400);
    const json = await browser.send(`/api/ciba/requests/${internalId}/approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ scopes: ["email"] }),
    });
    expect(json.status).toBe(200);
  });
});
