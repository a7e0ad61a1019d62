/**
 * Ping and push delivery (CIBA §10.2, §10.3; checklist C2, C9, C23, C25, C26, S3), against a
 * real HTTP receiver outside the Worker (the test helper). The request's Durable Object
 * delivers from its alarm; the tests run that alarm (runDurableObjectAlarm) to drive it.
 */

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AUTH_REQ_ID_CLAIM, openDeliverySecrets, sendToClient } from "../src/ciba/client-delivery";
import type { BackchannelAuthenticationRequest } from "../src/ciba/model";
import {
  type ClientRegistration,
  type DeliveryMode,
  RegistrationError,
  validateClientRegistration,
} from "../src/clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../src/clients/registry";
import { loadSettings } from "../src/config";
import { base64url } from "../src/crypto/encoding";
import { sha256 } from "../src/crypto/hash";
import {
  ageRequest,
  backchannel,
  CIBA_GRANT,
  nextAlarm,
  poll,
  rawStorage,
  requestFor,
  runAlarmsUntil,
  settleClientDelivery,
  store,
  stubFor,
} from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, postForm, publishedKeys } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "delivery-secret-0123456789";
const TOKEN = "opaque-notification-token.8f3e~+/=";
let erin = "";
const interaction = () => new BackchannelAuthenticationInteractionService(env);

beforeAll(async () => {
  erin = await registerUser({ username: "erin", password: "erin-password" });
});

/** A ping or push client whose notification endpoint is its own path on the receiver. */
async function deliveryClient(clientId: string, mode: DeliveryMode, extra: Partial<ClientRegistration> = {}) {
  const path = `/notify/${clientId}`;
  await registerClient({
    client_id: clientId,
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "refresh_token"],
    scope: "openid profile offline_access",
    backchannel_token_delivery_mode: mode,
    backchannel_client_notification_endpoint: outsideUrl(path),
    ...extra,
  });
  return path;
}

async function start(clientId: string, params: Record<string, string> = {}) {
  const { status, body } = await backchannel(clientId, SECRET, {
    scope: "openid profile",
    login_hint: "erin",
    client_notification_token: TOKEN,
    ...params,
  });
  expect(status, JSON.stringify(body)).toBe(200);
  const { internalId } = await requestFor(body.auth_req_id);
  return { authReqId: body.auth_req_id, internalId, response: body };
}

async function answer(internalId: string, scopes: string[]) {
  const outcome = await interaction().completeLoginRequest(
    { internalId, scopesValuesConsented: scopes },
    { subject: erin, sessionId: "sess-ping", authTime: 1_700_000_000, amr: ["pwd"] },
  );
  expect(outcome.ok).toBe(true);
}

const bodyOf = (message: { body: string } | undefined) => JSON.parse(message?.body ?? "null");

/** OIDC Core §3.3.2.11: base64url of the left half of SHA-256 (the ID token is ES256 here). */
async function leftHalfSha256(token: string): Promise<string> {
  return base64url((await sha256(token)).slice(0, 16));
}

describe("C2 registering ping and push clients", () => {
  const base: ClientRegistration = {
    client_id: "reg-check",
    client_name: "",
    client_secret: SECRET,
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: [CIBA_GRANT],
    redirect_uris: [],
    scope: "openid",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
  };
  const check =
    (reg: Partial<ClientRegistration>, allowHttp = false) =>
    () =>
      validateClientRegistration({ ...base, ...reg }, ["openid"], { allowHttpNotificationEndpoints: allowHttp });

  it("needs a notification endpoint for ping and push", () => {
    for (const mode of ["ping", "push"] as const) {
      expect(check({ backchannel_token_delivery_mode: mode })).toThrow(/backchannel_client_notification_endpoint/);
    }
    expect(check({ backchannel_token_delivery_mode: "poll" })).not.toThrow();
  });

  it("needs an https endpoint; http only on localhost, and only with the development switch", () => {
    const ping = (endpoint: string, allowHttp = false) =>
      check({ backchannel_token_delivery_mode: "ping", backchannel_client_notification_endpoint: endpoint }, allowHttp);
    expect(ping("https://rp.example/cb")).not.toThrow();
    expect(ping("http://rp.example/cb")).toThrow(RegistrationError);
    expect(ping("http://127.0.0.1:8080/cb")).toThrow(RegistrationError);
    expect(ping("http://localhost:8080/cb")).toThrow(RegistrationError);
    expect(ping("http://127.0.0.1:8080/cb", true)).not.toThrow();
    expect(ping("http://[::1]:8080/cb", true)).not.toThrow();
    expect(ping("http://rp.example/cb", true)).toThrow(RegistrationError);
    expect(ping("https://rp.example/cb#fragment")).toThrow(RegistrationError);
    expect(ping("not a url")).toThrow(RegistrationError);
  });

  it("needs the CIBA grant for a delivery mode, and one of poll, ping and push", () => {
    expect(check({ grant_types: ["client_credentials"], backchannel_token_delivery_mode: "poll" })).toThrow(
      /CIBA grant/,
    );
    expect(check({})).toThrow(/poll, ping or push/);
  });
});

describe("S3 notification endpoints at request time", () => {
  it("refuses a request when the registry holds a plain-http endpoint on a public host", async () => {
    // A row written around validateClientRegistration (e.g. edited by hand).
    const row = await clientRow(
      {
        client_id: "tampered",
        client_name: "",
        client_secret: SECRET,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: [CIBA_GRANT],
        redirect_uris: [],
        scope: "openid",
        backchannel_token_delivery_mode: "ping",
        backchannel_client_notification_endpoint: "http://rp.example/cb",
        backchannel_user_code_parameter: false,
        require_pushed_authorization_requests: false,
      },
      env.DATA_ENCRYPTION_KEY,
    );
    await env.DB.prepare(
      `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
    )
      .bind(...CLIENT_COLUMNS.map((column) => row[column]))
      .run();
    const { status, body } = await backchannel("tampered", SECRET, {
      scope: "openid",
      login_hint: "erin",
      client_notification_token: TOKEN,
    });
    expect(status).toBe(400);
    expect(body.error).toBe("unauthorized_client");
    expect(body.error_description).toMatch(/https/);
  });
});

describe("C9 client_notification_token", () => {
  it("is required from ping and push clients (invalid_request)", async () => {
    await deliveryClient("c9-ping", "ping");
    await deliveryClient("c9-push", "push");
    for (const clientId of ["c9-ping", "c9-push"]) {
      const { status, body } = await backchannel(clientId, SECRET, { scope: "openid", login_hint: "erin" });
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_request");
      expect(body.error_description).toMatch(/client_notification_token/);
    }
  });

  it("is at most 1024 characters of RFC 6750 b64token syntax", async () => {
    await deliveryClient("c9-syntax", "ping");
    const send = (token: string) =>
      backchannel("c9-syntax", SECRET, { scope: "openid", login_hint: "erin", client_notification_token: token });
    for (const bad of ["x".repeat(1025), "has space", 'quote"d', "a=b", "=abc", "ünïcode", "semi;colon"]) {
      const { status, body } = await send(bad);
      expect(status, bad).toBe(400);
      expect(body.error).toBe("invalid_request");
    }
    for (const good of ["x".repeat(1024), "Abc-._~+/09==", "a"]) expect((await send(good)).status, good).toBe(200);
  });

  it("is kept only encrypted and bound to its request, with the auth_req_id", async () => {
    await deliveryClient("c9-stored", "ping");
    const { authReqId, internalId } = await start("c9-stored");
    const stored = await rawStorage(internalId);
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain(authReqId);
    const request = await requestFor(authReqId);
    expect(await openDeliverySecrets(env, request)).toEqual({ authReqId, clientNotificationToken: TOKEN });
    const other = await start("c9-stored");
    // Moved to another request, the ciphertext no longer opens.
    expect(await openDeliverySecrets(env, { ...request, internalId: other.internalId })).toBeUndefined();
  });

  it("is ignored from a poll client, which is never notified", async () => {
    await registerClient({
      client_id: "c9-poll",
      client_secret: SECRET,
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
    });
    const { status, body } = await backchannel("c9-poll", SECRET, {
      scope: "openid",
      login_hint: "erin",
      client_notification_token: TOKEN,
    });
    expect(status).toBe(200);
    const request = await requestFor(body.auth_req_id);
    expect(request.deliverySecrets).toBeUndefined();
    expect(await rawStorage(request.internalId)).not.toContain(TOKEN);
  });
});

describe("C25 ping", () => {
  it("after approval: POSTs exactly {auth_req_id} with the bearer token, then the client polls for the tokens", async () => {
    const path = await deliveryClient("ping-approve", "ping");
    const { authReqId, internalId, response } = await start("ping-approve");
    expect(response.interval).toBe(5);
    expect(await received(path)).toHaveLength(0);

    await answer(internalId, ["openid", "profile"]);
    const settled = await settleClientDelivery(internalId);
    expect(settled).toMatchObject({ clientDeliveryStatus: "sent", clientDeliveryAttempts: 1 });
    const [ping, ...more] = await received(path);
    expect(more).toHaveLength(0);
    expect(ping?.method).toBe("POST");
    expect(ping?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(ping?.headers["content-type"]).toContain("application/json");
    expect(bodyOf(ping)).toEqual({ auth_req_id: authReqId });

    const tokens = await poll("ping-approve", SECRET, authReqId);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: "Bearer", scope: "openid profile" });
  });

  it("after denial: pings too, and the poll answers access_denied", async () => {
    const path = await deliveryClient("ping-deny", "ping");
    const { authReqId, internalId } = await start("ping-deny");
    await answer(internalId, []);
    expect((await settleClientDelivery(internalId)).clientDeliveryStatus).toBe("sent");
    expect((await received(path)).map(bodyOf)).toEqual([{ auth_req_id: authReqId }]);
    const result = await poll("ping-deny", SECRET, authReqId);
    expect(result.status).toBe(400);
    expect(result.body.error).toBe("access_denied");
  });

  it("counts 200 with or without a body, and 204, as delivered", async () => {
    const answers = [{ status: 200, body: '{"ok":true}' }, { status: 200, body: "" }, { status: 204 }];
    for (const [i, reply] of answers.entries()) {
      const path = await deliveryClient(`ping-ok-${i}`, "ping");
      await program(path, reply);
      const { internalId } = await start(`ping-ok-${i}`);
      await answer(internalId, ["openid"]);
      const settled = await settleClientDelivery(internalId);
      expect(settled, JSON.stringify(reply)).toMatchObject({ clientDeliveryStatus: "sent", clientDeliveryAttempts: 1 });
    }
  });

  it("retries a 5xx with backoff from the alarm, then succeeds", async () => {
    const path = await deliveryClient("ping-flaky", "ping");
    await program(path, [{ status: 503 }, { status: 502 }, { status: 200 }]);
    const { authReqId, internalId } = await start("ping-flaky");
    await answer(internalId, ["openid"]);

    const afterFirst = await runAlarmsUntil(internalId, (r) => (r.clientDeliveryAttempts ?? 0) >= 1, "one attempt");
    expect(afterFirst.clientDeliveryStatus).toBe("pending");
    // The next attempt waits (2 s after the first failure), it is not due at once.
    await expect.poll(() => nextAlarm(internalId)).toBeGreaterThan(Date.now() + 1000);

    const settled = await settleClientDelivery(internalId);
    expect(settled).toMatchObject({ clientDeliveryStatus: "sent", clientDeliveryAttempts: 3 });
    const attempts = await received(path);
    expect(attempts).toHaveLength(3);
    for (const attempt of attempts) expect(bodyOf(attempt)).toEqual({ auth_req_id: authReqId });
  });

  it("gives up after CIBA_CLIENT_NOTIFICATION_MAX_ATTEMPTS, and the client can still poll", async () => {
    const path = await deliveryClient("ping-down", "ping");
    await program(path, { status: 500 });
    const { authReqId, internalId } = await start("ping-down");
    await answer(internalId, ["openid"]);
    const settled = await settleClientDelivery(internalId);
    expect(settled).toMatchObject({ clientDeliveryStatus: "failed", clientDeliveryAttempts: 5 });
    expect(await received(path)).toHaveLength(5);
    expect((await poll("ping-down", SECRET, authReqId)).status).toBe(200);
  });

  it("does not retry after 401 or 403, and the client can still poll", async () => {
    for (const status of [401, 403]) {
      const clientId = `ping-refused-${status}`;
      const path = await deliveryClient(clientId, "ping");
      await program(path, [{ status }, { status: 200 }]);
      const { authReqId, internalId } = await start(clientId);
      await answer(internalId, ["openid"]);
      const settled = await settleClientDelivery(internalId);
      expect(settled).toMatchObject({ clientDeliveryStatus: "failed", clientDeliveryAttempts: 1 });
      await runDurableObjectAlarm(stubFor(internalId));
      expect(await received(path), String(status)).toHaveLength(1);
      expect((await poll(clientId, SECRET, authReqId)).status).toBe(200);
    }
  });

  it("does not follow a redirect, and does not retry it", async () => {
    const path = await deliveryClient("ping-redirect", "ping");
    await program(path, { status: 302, headers: { location: outsideUrl("/notify/ping-redirect-target") } });
    const { internalId } = await start("ping-redirect");
    await answer(internalId, ["openid"]);
    const settled = await settleClientDelivery(internalId);
    expect(settled).toMatchObject({ clientDeliveryStatus: "failed", clientDeliveryAttempts: 1 });
    expect(await received(path)).toHaveLength(1);
    expect(await received("/notify/ping-redirect-target")).toHaveLength(0);
  });

  it("abandons an attempt after CIBA_CLIENT_NOTIFICATION_TIMEOUT, and retries a network error", async () => {
    const settings = { ...loadSettings(env), cibaClientNotificationTimeout: 1 };
    const log = { internal_id: "x", client_id: "x", mode: "ping", attempt: 1 };
    await program("/notify/slow", { status: 200, delayMs: 3000 });
    const startedAt = Date.now();
    const slow = await sendToClient(settings, outsideUrl("/notify/slow"), TOKEN, { auth_req_id: "x" }, log);
    expect(Date.now() - startedAt).toBeLessThan(2500);
    expect(typeof slow).toBe("number");
    // Nothing listens on port 9 of the loopback host: connection refused.
    const refused = await sendToClient(settings, "http://127.0.0.1:9/cb", TOKEN, { auth_req_id: "x" }, log);
    expect(typeof refused).toBe("number");
  });
});

describe("C26 push", () => {
  it("pushes the tokens after approval, the ID token bound to them by at_hash, rt_hash and auth_req_id", async () => {
    const path = await deliveryClient("push-tokens", "push");
    const { authReqId, internalId, response } = await start("push-tokens", { scope: "openid profile offline_access" });
    expect(response).not.toHaveProperty("interval");
    await answer(internalId, ["openid", "profile", "offline_access"]);
    expect((await settleClientDelivery(internalId)).clientDeliveryStatus).toBe("sent");

    const [push, ...more] = await received(path);
    expect(more).toHaveLength(0);
    expect(push?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const body = bodyOf(push) as Record<string, string | number>;
    expect(Object.keys(body).sort()).toEqual(
      ["access_token", "auth_req_id", "expires_in", "id_token", "refresh_token", "scope", "token_type"].sort(),
    );
    expect(body).toMatchObject({ auth_req_id: authReqId, token_type: "Bearer", expires_in: 600 });

    const keys = await publishedKeys();
    const { payload: idToken } = await jwtVerify(String(body.id_token), keys, {
      issuer: ISSUER,
      audience: "push-tokens",
    });
    expect(idToken.sub).toBe(erin);
    expect(idToken[AUTH_REQ_ID_CLAIM]).toBe(authReqId);
    expect(idToken.at_hash).toBe(await leftHalfSha256(String(body.access_token)));
    expect(idToken["urn:openid:params:jwt:claim:rt_hash"]).toBe(await leftHalfSha256(String(body.refresh_token)));
    expect((await jwtVerify(String(body.access_token), keys, { issuer: ISSUER })).payload.sub).toBe(erin);

    // The pushed refresh token is a real one.
    const refreshed = await jsonOf(
      await postForm(
        "/token",
        { grant_type: "refresh_token", refresh_token: String(body.refresh_token) },
        basic("push-tokens", SECRET),
      ),
    );
    expect(refreshed.status).toBe(200);
  });

  it("binds the ID token with at_hash only when no refresh token is pushed", async () => {
    const path = await deliveryClient("push-no-rt", "push");
    const { internalId } = await start("push-no-rt");
    await answer(internalId, ["openid"]);
    await settleClientDelivery(internalId);
    const body = bodyOf((await received(path))[0]);
    expect(body.refresh_token).toBeUndefined();
    const claims = decodeJwt(body.id_token);
    expect(claims.at_hash).toBe(await leftHalfSha256(body.access_token));
    expect(claims).not.toHaveProperty("urn:openid:params:jwt:claim:rt_hash");
  });

  it("C23: a push client never gets the tokens at /token, before or after the push", async () => {
    await deliveryClient("push-no-poll", "push");
    const { authReqId, internalId } = await start("push-no-poll");
    const before = await poll("push-no-poll", SECRET, authReqId);
    expect(before.status).toBe(400);
    expect(before.body.error).toBe("unauthorized_client");
    await answer(internalId, ["openid"]);
    await settleClientDelivery(internalId);
    expect((await poll("push-no-poll", SECRET, authReqId)).body.error).toBe("unauthorized_client");
    expect((await requestFor(authReqId)).status).toBe("consumed");
  });

  it("C23: the request's object itself refuses to hand out an approved push request", async () => {
    await deliveryClient("push-object", "push");
    const { authReqId, internalId } = await start("push-object");
    // Approved, and the alarm that pushes (and consumes) it has not run yet.
    await runInDurableObject(stubFor(internalId), async (_instance, state) => {
      await state.storage.deleteAlarm();
      const record = JSON.parse(String(state.storage.kv.get("request"))) as BackchannelAuthenticationRequest;
      Object.assign(record, { status: "approved", isComplete: true, authorizedScopes: ["openid"] });
      state.storage.kv.put("request", JSON.stringify(record));
    });
    const outcome = await store().pollByAuthenticationRequestId(authReqId, "push-object");
    expect(outcome.kind).toBe("invalid_grant");
    expect((await requestFor(authReqId)).status).toBe("approved");
  });

  it("retries with the same tokens, and keeps them only encrypted, and only until delivered", async () => {
    const path = await deliveryClient("push-retry", "push");
    await program(path, [{ status: 503 }, { status: 200 }]);
    const { internalId } = await start("push-retry");
    await answer(internalId, ["openid"]);
    await runAlarmsUntil(internalId, (r) => (r.clientDeliveryAttempts ?? 0) >= 1, "one attempt");
    const [first] = await received(path);
    const accessToken = bodyOf(first).access_token as string;
    const during = await rawStorage(internalId);
    expect(during).toContain("pushPayload");
    expect(during).not.toContain(accessToken);

    expect((await settleClientDelivery(internalId)).clientDeliveryStatus).toBe("sent");
    const attempts = await received(path);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]?.body).toBe(first?.body);
    expect(await rawStorage(internalId)).not.toContain("pushPayload");
  });

  it("pushes a denial as {error: access_denied, auth_req_id}", async () => {
    const path = await deliveryClient("push-deny", "push");
    const { authReqId, internalId } = await start("push-deny");
    await answer(internalId, []);
    await settleClientDelivery(internalId);
    expect(bodyOf((await received(path))[0])).toMatchObject({ error: "access_denied", auth_req_id: authReqId });
  });

  it("pushes expired_token when the request expires unanswered, from an alarm set for its expiry", async () => {
    const path = await deliveryClient("push-expiry", "push");
    const { authReqId, internalId } = await start("push-expiry", { requested_expiry: "60" });
    const { creationTime } = await runAlarmsUntil(internalId, (r) => r.notificationStatus !== "pending");
    // The alarm's first run only guards the first user notice; after it, the alarm waits for expiry.
    await runDurableObjectAlarm(stubFor(internalId));
    await expect.poll(() => nextAlarm(internalId)).toBe((creationTime + 60) * 1000);
    expect(await received(path)).toHaveLength(0);

    await ageRequest(internalId, 60);
    await settleClientDelivery(internalId);
    const [push, ...more] = await received(path);
    expect(more).toHaveLength(0);
    expect(bodyOf(push)).toMatchObject({ error: "expired_token", auth_req_id: authReqId });
    expect(push?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("pushes transaction_failed when the tokens cannot be minted (the client was removed)", async () => {
    const path = await deliveryClient("push-gone", "push");
    const { authReqId, internalId } = await start("push-gone");
    await env.DB.prepare("DELETE FROM clients WHERE client_id = ?").bind("push-gone").run();
    await answer(internalId, ["openid"]);
    await settleClientDelivery(internalId);
    expect(bodyOf((await received(path))[0])).toMatchObject({ error: "transaction_failed", auth_req_id: authReqId });
    expect((await requestFor(authReqId)).status).toBe("consumed");
  });
});
