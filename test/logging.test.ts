/**
 * Issue 12: edge-op's own log lines carry no secret, handle or token. Every console call made
 * while whole flows run (CIBA in poll, ping and push mode with a user_code, approved on the real
 * pages; PAR + authorization code + refresh + userinfo; a reused code and a reused refresh
 * token, which log warnings; dynamic registration, introspection, revocation and a sign-out
 * that sends a back-channel logout token) is captured, and none may contain a value that lets
 * its holder act: client secrets, passwords, user codes, auth_req_ids, client notification
 * tokens, request_uris, codes, PKCE verifiers, access, ID, refresh and logout tokens, initial
 * and registration access tokens, session and CSRF cookies. Internal ids (a request's internal id, a grant id, a client id) may appear.
 * What the platform itself keeps (request URLs) is in docs/logging.md.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DurableObjectBackchannelRequestStore as BackchannelAuthenticationRequestStore } from "../src/ciba/request-store";
import { randomHandle } from "../src/crypto/hash";
import { storeInitialAccessToken } from "../src/registration/registration-store";
import { pkce } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { CIBA_GRANT, runAlarmsUntil, settleClientDelivery } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, postForm } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";

/** Every console line written during this file's flows, as text. */
const lines: string[] = [];
/** Every value that must never be logged, with what it is (for the failure message). */
const secrets = new Map<string, string>();

function secret(what: string, value: unknown): string {
  expect(typeof value, what).toBe("string");
  const text = value as string;
  expect(text.length, what).toBeGreaterThanOrEqual(6);
  secrets.set(text, what);
  return text;
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ""}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;

beforeAll(() => {
  for (const method of METHODS) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(`${method}: ${args.map(text).join(" ")}`);
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
});

const CIBA_SECRET = secret("client secret", "log-ciba-secret-0123456789");
const WEB_SECRET = secret("client secret", "log-web-secret-0123456789");
const CALLBACK = "https://log-app.example/cb";
const USER_CODE = secret("user_code", "73915028");
const PASSWORD = secret("password", "quinn-password-9d1c");
const NOTIFICATION_TOKEN = secret("client_notification_token", "notify-8f3e1c9a7b2d4e6f");
const LOGOUT_PATH = "/log-backchannel-logout";

beforeAll(async () => {
  for (const mode of ["poll", "ping", "push"] as const) {
    await registerClient({
      client_id: `log-${mode}`,
      client_secret: CIBA_SECRET,
      grant_types: [CIBA_GRANT, "refresh_token"],
      scope: "openid profile offline_access",
      backchannel_token_delivery_mode: mode,
      backchannel_user_code_parameter: true,
      ...(mode === "poll" ? {} : { backchannel_client_notification_endpoint: outsideUrl(`/log-notify/${mode}`) }),
    });
  }
  await registerClient({
    client_id: "log-web",
    client_secret: WEB_SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid profile email offline_access",
  });
  await registerUser({ username: "quinn", password: PASSWORD, user_code: USER_CODE, email: "quinn@example.com" });
});

/** Signs in on the real sign-in page; remembers the session and CSRF cookies as secrets. */
async function signedIn(): Promise<Browser> {
  const browser = new Browser();
  expect((await browser.signIn("quinn", PASSWORD)).status).toBe(303);
  secret("session cookie", browser.cookies.get("edge-op-session"));
  secret("CSRF cookie", browser.cookies.get("edge-op-csrf"));
  return browser;
}

/** Approves a backchannel request the way the user does: its page, then Approve. */
async function approveOnPage(browser: Browser, authReqId: string): Promise<void> {
  const request = await new BackchannelAuthenticationRequestStore(env).getByAuthenticationRequestId(authReqId);
  const internalId = request?.internalId ?? "";
  // The user's notice (CIBA_NOTIFICATION=log writes it to the log) goes out from the request's alarm.
  await runAlarmsUntil(internalId, (r) => r.notificationStatus === "sent", "the user's notice");
  const page = await browser.get(`/ciba/requests/${internalId}`);
  expect(page.status).toBe(200);
  const csrf = secret("CSRF token", Browser.csrfOf(await page.text()));
  const answer = await browser.post(`/ciba/requests/${internalId}`, { csrf, action: "approve", scope: ["profile"] });
  expect(answer.status).toBe(200);
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

/** Everything of a token response that is a credential. */
function tokenSecrets(body: Record<string, unknown>): void {
  secret("access token", body.access_token);
  secret("ID token", body.id_token);
  if (body.refresh_token !== undefined) secret("refresh token", body.refresh_token);
}

describe("log lines during whole flows", () => {
  it("CIBA poll, ping and push with a user_code, approved on the pages", async () => {
    const browser = await signedIn();
    for (const mode of ["poll", "ping", "push"] as const) {
      const clientId = `log-${mode}`;
      const started = await postForm(
        "/bc-authorize",
        {
          scope: "openid profile offline_access",
          login_hint: "quinn",
          user_code: USER_CODE,
          binding_message: `log ${mode}`,
          ...(mode === "poll" ? {} : { client_notification_token: NOTIFICATION_TOKEN }),
        },
        basic(clientId, CIBA_SECRET),
      );
      const startedBody = await json(started);
      expect(started.status, JSON.stringify(startedBody)).toBe(200);
      const authReqId = secret("auth_req_id", startedBody.auth_req_id);
      await approveOnPage(browser, authReqId);
      if (mode !== "poll") {
        const request = await new BackchannelAuthenticationRequestStore(env).getByAuthenticationRequestId(authReqId);
        expect((await settleClientDelivery(request?.internalId ?? "")).clientDeliveryStatus).toBe("sent");
        const [delivered] = await received(`/log-notify/${mode}`);
        if (mode === "push") tokenSecrets(JSON.parse(delivered?.body ?? "{}"));
      }
      if (mode !== "push") {
        const tokens = await postForm(
          "/token",
          { grant_type: CIBA_GRANT, auth_req_id: authReqId },
          basic(clientId, CIBA_SECRET),
        );
        const body = await json(tokens);
        expect(tokens.status, JSON.stringify(body)).toBe(200);
        tokenSecrets(body);
      }
    }
    // A wrong password and a wrong user_code are logged (as events) too.
    expect((await new Browser().signIn("quinn", "not-quinns-password")).status).toBe(401);
    secret("wrong password", "not-quinns-password");
    const wrongCode = await postForm(
      "/bc-authorize",
      { scope: "openid", login_hint: "quinn", user_code: secret("wrong user_code", "11112222") },
      basic("log-poll", CIBA_SECRET),
    );
    expect(wrongCode.status).toBe(400);
  });

  it("PAR, authorization code, refresh, userinfo, and a reused code and refresh token", async () => {
    const browser = await signedIn();
    const { verifier, challenge } = await pkce();
    secret("code_verifier", verifier);
    const state = "log-state-5f2a9c";
    const pushed = await postForm(
      "/par",
      {
        response_type: "code",
        redirect_uri: CALLBACK,
        scope: "openid profile offline_access",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state,
        nonce: "log-nonce-7e1b3d",
        prompt: "consent",
      },
      basic("log-web", WEB_SECRET),
    );
    const pushedBody = await json(pushed);
    expect(pushed.status, JSON.stringify(pushedBody)).toBe(201);
    const requestUri = secret("request_uri", pushedBody.request_uri);
    secret("request_uri reference", requestUri.split(":").pop());
    const authorize = `/authorize?client_id=log-web&request_uri=${encodeURIComponent(requestUri)}`;
    const consent = await browser.get(authorize);
    expect(consent.status).toBe(200);
    const csrf = secret("CSRF token", Browser.csrfOf(await consent.text()));
    const redirect = await browser.post(authorize, { csrf, decision: "approve" });
    expect(redirect.status).toBe(303);
    const code = secret("authorization code", new URL(redirect.headers.get("location") ?? "").searchParams.get("code"));

    const exchange = () =>
      postForm(
        "/token",
        { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
        basic("log-web", WEB_SECRET),
      );
    const first = await exchange();
    const tokens = await json(first);
    expect(first.status, JSON.stringify(tokens)).toBe(200);
    tokenSecrets(tokens);

    const refreshed = await postForm(
      "/token",
      { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string },
      basic("log-web", WEB_SECRET),
    );
    const refreshedBody = await json(refreshed);
    expect(refreshed.status, JSON.stringify(refreshedBody)).toBe(200);
    tokenSecrets(refreshedBody);

    const userinfo = await call("/userinfo", { headers: { authorization: `Bearer ${refreshedBody.access_token}` } });
    expect(userinfo.status).toBe(200);
    // A token someone put in the query (RFC 6750 §2.3, which edge-op does not accept).
    const inQuery = await call(`/userinfo?access_token=${encodeURIComponent(refreshedBody.access_token as string)}`);
    expect(inQuery.status).toBe(401);

    // Reuse: the first refresh token again (refresh_token_reuse), then the code again
    // (authorization_code_reuse, grant_revoked).
    const reused = await postForm(
      "/token",
      { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string },
      basic("log-web", WEB_SECRET),
    );
    expect(reused.status).toBe(400);
    expect((await exchange()).status).toBe(400);
  });

  it("dynamic registration, introspection, revocation, and a sign-out with a back-channel logout token", async () => {
    const initialAccessToken = secret("initial access token", randomHandle(32));
    await storeInitialAccessToken(env.DB, initialAccessToken, Math.floor(Date.now() / 1000) + 3600);
    const registered = await call("/register", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${initialAccessToken}` },
      body: JSON.stringify({
        redirect_uris: [CALLBACK],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        scope: "openid profile offline_access",
        backchannel_logout_uri: outsideUrl(LOGOUT_PATH),
      }),
    });
    const client = await json(registered);
    expect(registered.status, JSON.stringify(client)).toBe(201);
    const clientId = client.client_id as string;
    const clientSecret = secret("client secret", client.client_secret);
    const registrationToken = secret("registration access token", client.registration_access_token);
    const read = await call(`/register/${clientId}`, { headers: { authorization: `Bearer ${registrationToken}` } });
    expect(read.status).toBe(200);

    const browser = await signedIn();
    const { verifier, challenge } = await pkce();
    secret("code_verifier", verifier);
    const authorize = `/authorize?${new URLSearchParams({
      client_id: clientId,
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid profile offline_access",
      code_challenge: challenge,
      code_challenge_method: "S256",
      prompt: "consent",
    })}`;
    const consent = await browser.get(authorize);
    expect(consent.status).toBe(200);
    const csrf = secret("CSRF token", Browser.csrfOf(await consent.text()));
    const redirect = await browser.post(authorize, { csrf, decision: "approve" });
    expect(redirect.status).toBe(303);
    const code = secret("authorization code", new URL(redirect.headers.get("location") ?? "").searchParams.get("code"));
    const exchanged = await postForm(
      "/token",
      { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
      basic(clientId, clientSecret),
    );
    const tokens = await json(exchanged);
    expect(exchanged.status, JSON.stringify(tokens)).toBe(200);
    tokenSecrets(tokens);

    const introspected = await postForm(
      "/introspect",
      { token: tokens.access_token as string },
      basic(clientId, clientSecret),
    );
    expect((await json(introspected)).active).toBe(true);
    const revoked = await postForm("/revoke", { token: tokens.refresh_token as string }, basic(clientId, clientSecret));
    expect(revoked.status).toBe(200);

    // RP-Initiated Logout with a hint for this session: the session ends at once, and the
    // client's back-channel logout URI gets a logout token from the delivery object's alarm.
    await program(LOGOUT_PATH, { status: 200 });
    const hint = tokens.id_token as string;
    const signedOut = await browser.get(
      `/end-session?${new URLSearchParams({ id_token_hint: hint, client_id: clientId })}`,
    );
    expect(signedOut.status).toBeLessThan(400);
    const sid = String(decodeJwt(hint).sid);
    const delivery = env.LOGOUT_DELIVERIES.get(env.LOGOUT_DELIVERIES.idFromName(`bcl:${sid}:${clientId}`));
    for (let i = 0; i < 80 && (await received(LOGOUT_PATH)).length === 0; i++) {
      if (!(await runDurableObjectAlarm(delivery))) await new Promise((r) => setTimeout(r, 25));
    }
    const [logout] = await received(LOGOUT_PATH);
    secret("logout token", new URLSearchParams(logout?.body).get("logout_token"));
  });

  it("wrote log lines, and none of them holds a secret, handle or token", () => {
    const all = lines.join("\n");
    // The flows did log: the check below is not vacuous. The push line is written by the
    // request's Durable Object (its alarm), so object logs are captured too.
    for (const event of [
      "ciba_request_created",
      "ciba_login_request",
      "ciba_tokens_issued",
      '\\"delivery\\":\\"push\\"',
      "ciba_client_notification_sent",
      "signin_failed",
      "authorization_code_reuse",
      "refresh_token_reuse",
      "grant_revoked",
      "session_logged_out",
      "backchannel_logout_sent",
    ]) {
      expect(all, `no ${event} line was captured`).toContain(event.replace(/\\/g, ""));
    }
    expect(secrets.size).toBeGreaterThan(20);
    for (const [value, what] of secrets) {
      const leaking = lines.filter((line) => line.includes(value) || line.includes(encodeURIComponent(value)));
      expect(leaking, `the ${what} appears in a log line`).toEqual([]);
    }
  });
});
