/** The authenticator-app JSON API over the interaction service (docs/authenticator-api.md). */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type ClientRegistration, validateClientRegistration } from "../src/clients/metadata";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor } from "./helpers/ciba";
import { registerAuthenticatorApp, registerClient, registerUser } from "./helpers/fixtures";
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
  await registerAuthenticatorApp();
  judy = await registerUser({ username: "judy", password: "judy-password" });
  mike = await registerUser({ username: "mike", password: "mike-password" });
});

/** A token as the user's authenticator app (a client with the ciba:approve scope) would hold. */
async function bearerFor(
  subject: string,
  scope = "openid ciba:approve",
  clientId = "authenticator-app",
  audience: string | string[] = ISSUER,
) {
  const keys = await loadKeys(env.SIGNING_KEYS);
  const token = await mintAccessToken(keys, {
    issuer: ISSUER,
    subject,
    clientId,
    audience,
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
    // Read before the tokens: the token response deletes the used request (issue 18).
    expect((await requestFor(authReqId)).sessionId).toBe("app-session");
    const tokens = await poll("app-kiosk", SECRET, authReqId);
    expect(tokens.body.scope).toBe("openid profile");
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

  it("refuses the user's tokens without ciba:approve: a kiosk cannot approve what it asked for", async () => {
    const { authReqId, internalId } = await startRequest();
    const kioskToken = await bearerFor(judy, "openid profile email", "app-kiosk");
    const response = await api(`/${internalId}/approve`, kioskToken, { method: "POST" });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("insufficient_scope");
    expect((await api("", kioskToken)).status).toBe(403);
    expect((await requestFor(authReqId)).status).toBe("pending");
  });

  it("ciba:approve cannot be registered for a CIBA client, only for an app's other grants", () => {
    const app: ClientRegistration = {
      client_id: "phone-app",
      client_name: "",
      client_secret: SECRET,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: ["https://app.example/cb"],
      scope: "openid ciba:approve offline_access",
      backchannel_user_code_parameter: false,
      require_pushed_authorization_requests: false,
    };
    const scopes = ["openid", "ciba:approve", "offline_access"];
    expect(() => validateClientRegistration(app, scopes)).not.toThrow();
    const kiosk = { ...app, grant_types: [CIBA_GRANT], backchannel_token_delivery_mode: "poll" as const };
    expect(() => validateClientRegistration(kiosk, scopes)).toThrow(/could approve its own requests/);
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

describe("the access token's audience (RFC 9068 §4, RFC 8707)", () => {
  const approve = async (audience: string | string[]) => {
    const { internalId } = await startRequest();
    return api(`/${internalId}/approve`, await bearerFor(judy, undefined, undefined, audience), { method: "POST" });
  };

  it("is accepted when it is the issuer (no resource requested) or the API's own identifier", async () => {
    for (const audience of [ISSUER, `${ISSUER}/api/ciba/requests`]) {
      expect((await approve(audience)).status, JSON.stringify(audience)).toBe(200);
    }
  });

  it("is refused when it names another resource server: a third party holding the token cannot approve sign-ins", async () => {
    for (const audience of ["https://rs.example/", [ISSUER, "https://rs.example/"]]) {
      const response = await approve(audience);
      expect(response.status, JSON.stringify(audience)).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_token");
    }
  });

  it("is refused when it is only the UserInfo endpoint", async () => {
    expect((await approve(`${ISSUER}/userinfo`)).status).toBe(401);
  });
});

describe("RFC 6750 §3.1: a request without any credentials", () => {
  it("gets 401 with a Bearer challenge and no error code", async () => {
    const response = await api("", {});
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer\b/);
    expect(challenge).not.toMatch(/error/);
    expect(await response.text()).not.toMatch(/error/);
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
