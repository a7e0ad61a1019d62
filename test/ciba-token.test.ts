/**
 * The CIBA grant at the token endpoint (CIBA §10.1–11, checklist C18–C24), driven end to end:
 * openid-client is the consumption device, the interaction service plays the user's phone.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { userObjectName } from "../src/users/user-object";
import { ageRequest, backchannel, CIBA_GRANT, poll, requestFor, store, stubFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER, publishedKeys } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "pos-secret-0123456789";
let dave = "";
const interaction = () => new BackchannelAuthenticationInteractionService(env);

beforeAll(async () => {
  await registerClient({
    client_id: "pos",
    client_name: "Corner shop till",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "refresh_token"],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile email offline_access",
    ciba_polling_interval: 1,
  });
  await registerClient({
    client_id: "other-pos",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
  });
  await registerClient({
    client_id: "push-client",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "push",
    backchannel_client_notification_endpoint: "https://push.example/cb",
  });
  dave = await registerUser({ username: "dave", password: "dave-password", email: "dave@example.com" });
});

async function startAndApprove(scopes: string[], params: Record<string, string> = {}) {
  const { body } = await backchannel("pos", SECRET, { scope: "openid profile email", login_hint: "dave", ...params });
  const { internalId } = await requestFor(body.auth_req_id);
  const outcome = await interaction().completeLoginRequest(
    { internalId, scopesValuesConsented: scopes },
    { subject: dave, sessionId: "sess-1", authTime: 1_700_000_000, amr: ["pwd", "otp"] },
  );
  expect(outcome.ok).toBe(true);
  return body.auth_req_id;
}

describe("the whole poll flow with openid-client", () => {
  it("initiates, the user approves a subset of scopes, and the client gets tokens for that subset", async () => {
    const config = await discoverAs("pos", SECRET, client.ClientSecretBasic(SECRET));
    const response = await client.initiateBackchannelAuthentication(config, {
      scope: "openid profile email offline_access",
      login_hint: "dave@example.com",
      binding_message: "Till 4 · 12.30 EUR",
    });
    expect(response.interval).toBe(1);

    const [pending] = await interaction().getPendingLoginRequestsForCurrentUser({ subject: dave });
    expect(pending).toMatchObject({ clientName: "Corner shop till", bindingMessage: "Till 4 · 12.30 EUR" });
    const outcome = await interaction().completeLoginRequest(
      { internalId: pending?.internalId ?? "", scopesValuesConsented: ["openid", "email", "offline_access"] },
      { subject: dave, sessionId: "sess-42", authTime: 1_700_000_000, amr: ["pwd"] },
    );
    expect(outcome.ok).toBe(true);

    const tokens = await client.pollBackchannelAuthenticationGrant(config, response);
    expect(tokens.scope).toBe("openid email offline_access");
    expect(tokens.refresh_token).toBeTruthy();
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: dave,
      aud: "pos",
      auth_time: 1_700_000_000,
      amr: ["pwd"],
      sid: "sess-42",
    });
    expect(typeof claims?.iat).toBe("number");
    expect(typeof claims?.exp).toBe("number");

    const { payload } = await jwtVerify(tokens.access_token, await publishedKeys(), { issuer: ISSUER, typ: "at+jwt" });
    expect(payload).toMatchObject({ sub: dave, client_id: "pos", scope: "openid email offline_access" });
  });

  it("reports a denial as access_denied", async () => {
    const config = await discoverAs("pos", SECRET, client.ClientSecretBasic(SECRET));
    const response = await client.initiateBackchannelAuthentication(config, { scope: "openid", login_hint: "dave" });
    const { internalId } = await requestFor(response.auth_req_id);
    await interaction().completeLoginRequest({ internalId, scopesValuesConsented: [] }, { subject: dave });
    await expect(client.pollBackchannelAuthenticationGrant(config, response)).rejects.toMatchObject({
      error: "access_denied",
    });
  });
});

describe("C19 unknown or foreign auth_req_id", () => {
  it("answers invalid_grant for an unknown, malformed or another client's auth_req_id", async () => {
    const authReqId = await startAndApprove(["openid"]);
    const foreign = await poll("other-pos", SECRET, authReqId);
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe("invalid_grant");
    for (const id of ["A".repeat(43), "short", "../../etc", "x".repeat(5000), "ü".repeat(43)]) {
      const { status, body } = await poll("pos", SECRET, id);
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_grant");
    }
    // The foreign attempt did not spend it: the rightful client still gets its tokens.
    expect((await poll("pos", SECRET, authReqId)).status).toBe(200);
  });

  it("requires auth_req_id (invalid_request)", async () => {
    const { postForm, basic } = await import("./helpers/http");
    const response = await postForm("/token", { grant_type: CIBA_GRANT }, basic("pos", SECRET));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
  });
});

describe("C20 pending, denied, expired", () => {
  it("answers authorization_pending until the user answers", async () => {
    const { body } = await backchannel("pos", SECRET, { scope: "openid", login_hint: "dave" });
    const { status, body: error } = await poll("pos", SECRET, body.auth_req_id);
    expect(status).toBe(400);
    expect(error.error).toBe("authorization_pending");
  });

  it("answers expired_token after expires_in, while the record is kept for the grace period", async () => {
    const { body } = await backchannel("pos", SECRET, { scope: "openid", login_hint: "dave" });
    const { internalId } = await requestFor(body.auth_req_id);
    await ageRequest(internalId, 301);
    const { status, body: error } = await poll("pos", SECRET, body.auth_req_id);
    expect(status).toBe(400);
    expect(error.error).toBe("expired_token");
  });

  it("lets the alarm delete a request once past expiry plus grace: then it is unknown", async () => {
    const { body } = await backchannel("pos", SECRET, { scope: "openid", login_hint: "dave" });
    const { internalId } = await requestFor(body.auth_req_id);
    await ageRequest(internalId, 300 + 600);
    await runDurableObjectAlarm(stubFor(internalId));
    expect(await store().getByInternalId(internalId)).toBeUndefined();
    // Off the user's pending list too: the user's object no longer holds the entry.
    const users = env.USERS;
    const user = users.get(users.idFromName(await userObjectName(dave)));
    const listed = await runInDurableObject(user, (_i, state) => state.storage.kv.get(`pending:${internalId}`));
    expect(listed).toBeUndefined();
    expect((await poll("pos", SECRET, body.auth_req_id)).body.error).toBe("invalid_grant");
  });
});

describe("C21 slow_down", () => {
  it("answers slow_down to a poll sooner than the interval, and adds 5 s to the interval", async () => {
    const { body } = await backchannel("pos", SECRET, { scope: "openid", login_hint: "dave" });
    expect((await poll("pos", SECRET, body.auth_req_id)).body.error).toBe("authorization_pending");
    const fast = await poll("pos", SECRET, body.auth_req_id);
    expect(fast.status).toBe(400);
    expect(fast.body.error).toBe("slow_down");
    expect((await requestFor(body.auth_req_id)).interval).toBe(6);
    expect((await poll("pos", SECRET, body.auth_req_id)).body.error).toBe("slow_down");
    expect((await requestFor(body.auth_req_id)).interval).toBe(11);
  });
});

describe("C22 one-time use", () => {
  it("spends the auth_req_id on success: a second exchange is invalid_grant", async () => {
    const authReqId = await startAndApprove(["openid", "profile"]);
    expect((await poll("pos", SECRET, authReqId)).status).toBe(200);
    const again = await poll("pos", SECRET, authReqId);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe("invalid_grant");
  });

  it("gives exactly one token response to concurrent token requests after approval", async () => {
    const authReqId = await startAndApprove(["openid"]);
    const results = await Promise.all(Array.from({ length: 8 }, () => poll("pos", SECRET, authReqId)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(["invalid_grant", "slow_down"]).toContain(r.body.error);
    }
  });
});

describe("C23 push-mode clients", () => {
  it("may not use the CIBA grant (unauthorized_client)", async () => {
    const { status, body } = await poll("push-client", SECRET, "A".repeat(43));
    expect(status).toBe(400);
    expect(body.error).toBe("unauthorized_client");
  });
});

describe("C24 token response", () => {
  it("has access_token, token_type, expires_in and id_token, with no-store", async () => {
    const { postForm, basic } = await import("./helpers/http");
    const authReqId = await startAndApprove(["openid", "profile"]);
    const response = await postForm("/token", { grant_type: CIBA_GRANT, auth_req_id: authReqId }, basic("pos", SECRET));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600, scope: "openid profile" });
    expect(typeof body.access_token).toBe("string");
    expect(body).not.toHaveProperty("refresh_token");
    const idToken = decodeJwt(body.id_token as string);
    expect(idToken).toMatchObject({ sub: dave, aud: "pos", amr: ["pwd", "otp"], auth_time: 1_700_000_000 });
    expect(idToken).not.toHaveProperty("acr");
  });

  it("carries acr in the ID token when a requested class was met (src/authn/acr.ts; test/acr.test.ts)", async () => {
    const authReqId = await startAndApprove(["openid"], { acr_values: "urn:example:acr:loa2 urn:edge-op:acr:pwd" });
    const { body } = await poll("pos", SECRET, authReqId);
    expect(decodeJwt(body.id_token as string).acr).toBe("urn:edge-op:acr:pwd");
  });

  it("audiences the access token to the requested resources (RFC 8707)", async () => {
    const authReqId = await startAndApprove(["openid"], { resource: "https://api.example/" });
    const { body } = await poll("pos", SECRET, authReqId);
    expect(decodeJwt(body.access_token as string).aud).toEqual(["https://api.example/"]);
    // That token is for api.example, not for this provider's own endpoints.
    const userinfo = await call("/userinfo", { headers: { authorization: `Bearer ${body.access_token}` } });
    expect(userinfo.status).toBe(401);
  });
});
