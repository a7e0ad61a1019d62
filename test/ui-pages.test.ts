/**
 * The user's side as pages: sign-in, the pending list, Approve / Deny, sessions, CSRF and the
 * security headers. A real browser runs the same flow in test/e2e.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { ISSUER } from "./helpers/http";

const SECRET = "atm-secret-0123456789";

beforeAll(async () => {
  await registerClient({
    client_id: "atm",
    client_name: "Cash machine",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile email phone",
  });
  await registerUser({ username: "heidi", password: "heidi-password", name: "Heidi Example" });
  await registerUser({ username: "ivan", password: "ivan-password" });
});

/** Each test signs in as its own user: sign-in attempts are rate-limited per username. */
async function newUser(): Promise<{ username: string; sub: string }> {
  const username = `user-${crypto.randomUUID().slice(0, 8)}`;
  return { username, sub: await registerUser({ username, password: `${username}-password` }) };
}

async function startRequest(user = "heidi", scope = "openid profile email phone") {
  const { body } = await backchannel("atm", SECRET, { scope, login_hint: user, binding_message: "ATM 7 · 4821" });
  return { authReqId: body.auth_req_id, internalId: (await requestFor(body.auth_req_id)).internalId };
}

async function signedIn(user = "heidi", password = `${user}-password`): Promise<Browser> {
  const browser = new Browser();
  const response = await browser.signIn(user, password);
  expect(response.status).toBe(303);
  return browser;
}

describe("sign-in page", () => {
  it("has Username and Password fields, a Sign in button, and strict security headers", async () => {
    const response = await new Browser().get("/signin");
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/<label for="username">Username<\/label>/);
    expect(html).toMatch(/<label for="password">Password<\/label>/);
    expect(html).toMatch(/<button type="submit" class="primary">Sign in<\/button>/);
    // No inline code: the one script is the passkey sign-in's, a file of this provider (script-src 'self').
    expect(html).not.toMatch(/<script(?![^>]*\ssrc="\/assets\/)/);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("signs in and sets an HttpOnly, SameSite=Lax, signed session cookie", async () => {
    const browser = new Browser();
    const response = await browser.signIn("heidi", "heidi-password", "/ciba");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/ciba");
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith("edge-op-session="));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    // Signed: the value is "<id>.<signature>"; a tampered value is not a session.
    const value = browser.cookies.get("edge-op-session") ?? "";
    browser.cookies.set(
      "edge-op-session",
      value.replace(/^./, (ch) => (ch === "A" ? "B" : "A")),
    );
    expect((await browser.get("/ciba")).status).toBe(303);
  });

  it("says the same thing, with the same status, for an unknown user and a wrong password", async () => {
    const wrongPassword = await new Browser().signIn("heidi", "not-her-password");
    const unknownUser = await new Browser().signIn("nobody-at-all", "not-her-password");
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    const [a, b] = [await wrongPassword.text(), await unknownUser.text()];
    expect(a).toContain("The username or password is not right.");
    expect(b).toContain("The username or password is not right.");
  });

  it("refuses a sign-in without the form's CSRF token", async () => {
    const browser = new Browser();
    await browser.get("/signin");
    const response = await browser.post("/signin", { username: "heidi", password: "heidi-password", csrf: "forged" });
    expect(response.status).toBe(403);
    expect(browser.cookies.has("edge-op-session")).toBe(false);
  });

  it("accepts the Origin a browser sends from the sign-in page itself (Referrer-Policy: same-origin)", async () => {
    const { username } = await newUser();
    const browser = new Browser();
    const page = await browser.get("/signin");
    // With no-referrer a browser would send "Origin: null" and every sign-in would fail.
    expect(page.headers.get("referrer-policy")).toBe("same-origin");
    const response = await browser.post(
      "/signin",
      { csrf: Browser.csrfOf(await page.text()), username, password: `${username}-password`, return_to: "/ciba" },
      { origin: "http://localhost:8787" },
    );
    expect(response.status).toBe(303);
  });

  it("refuses a sign-in posted from another origin", async () => {
    const browser = new Browser();
    const csrf = Browser.csrfOf(await (await browser.get("/signin")).text());
    const response = await browser.post(
      "/signin",
      { csrf, username: "heidi", password: "heidi-password", return_to: "/ciba" },
      { origin: "https://evil.example" },
    );
    expect(response.status).toBe(403);
  });

  /** Signs in until refused; the limiter's fixed 60 s windows may let a few more through. */
  async function attemptsUntil429(attempt: (i: number) => Promise<Response>): Promise<number> {
    for (let i = 0; i < 100; i++) {
      const status = (await attempt(i)).status;
      if (status === 429) return i;
      expect(status).toBe(401);
    }
    throw new Error("never limited");
  }

  it("limits attempts per username: after 5 within a minute, 429", async () => {
    const before = await attemptsUntil429((i) => new Browser().signIn("ivan", `wrong-${i}`));
    expect(before).toBeGreaterThanOrEqual(5);
  });

  it("limits attempts per client address: after 20 within a minute, 429", async () => {
    const before = await attemptsUntil429((i) => new Browser("203.0.113.9").signIn(`guess-${i}`, "wrong"));
    expect(before).toBeGreaterThanOrEqual(20);
  });

  it("only returns to a path on this site", async () => {
    const { username } = await newUser();
    for (const evil of ["//evil.example/x", "https://evil.example/", "/\\evil.example"]) {
      const response = await new Browser().signIn(username, `${username}-password`, evil);
      expect(response.headers.get("location")).toBe("/ciba");
    }
  });
});

/**
 * Issue 12: a return_to with control characters. Browsers strip TAB, CR and LF from a URL
 * before resolving it (WHATWG URL §4.4), so `/<TAB>/evil.example` is `//evil.example`, another
 * origin. A Location is safe when a URL parser resolves it against the issuer to the issuer's
 * origin, and it is printable ASCII (RFC 9110 §5.5: no raw control or non-ASCII bytes).
 */
describe("return_to (open redirect through control characters)", () => {
  const HOSTILE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\u0000/evil.example",
    "/\t\t/evil.example/x?y=1",
    "/.//evil.example",
    "/\u007f/x",
    "/ciba\u0085",
    "/ciba/ü?x=ü",
    "/ciba/\u2028",
  ];

  function expectSafeLocation(response: Response, returnTo: string): string {
    expect(response.status, JSON.stringify(returnTo)).toBe(303);
    const location = response.headers.get("location") ?? "";
    expect(location, JSON.stringify(returnTo)).toMatch(/^\/(?![/\\])[\x21-\x7e]*$/);
    expect(new URL(location, ISSUER).origin, JSON.stringify(returnTo)).toBe(ISSUER);
    return location;
  }

  it("signing in never redirects to another origin or puts raw bytes in Location", async () => {
    for (const returnTo of HOSTILE) {
      // A user each: sign-in attempts are limited per username.
      const { username } = await newUser();
      expectSafeLocation(await new Browser().signIn(username, `${username}-password`, returnTo), returnTo);
    }
  });

  it("a signed-in visit to /signin?return_to=… answers 303 to this site, never 5xx", async () => {
    const browser = await signedIn((await newUser()).username);
    for (const returnTo of HOSTILE) {
      expectSafeLocation(await browser.get(`/signin?return_to=${encodeURIComponent(returnTo)}`), returnTo);
    }
  });

  it("accepts no path with a control character, even one that would stay on this site: it goes to /ciba", async () => {
    const browser = await signedIn((await newUser()).username);
    for (const returnTo of [
      "/account\u0000",
      "/account\u0007x",
      "/account\tx",
      "/passkeys\u007f",
      "/account?x=\u0085",
    ]) {
      const response = await browser.get(`/signin?return_to=${encodeURIComponent(returnTo)}`);
      expect(response.headers.get("location"), JSON.stringify(returnTo)).toBe("/ciba");
    }
  });

  it("keeps a good path, query and fragment as they are, percent-encoding what must be", async () => {
    const browser = await signedIn((await newUser()).username);
    const ok = "/authorize?client_id=a&state=x%20y&redirect_uri=https%3A%2F%2Frp.example%2Fcb";
    expect((await browser.get(`/signin?return_to=${encodeURIComponent(ok)}`)).headers.get("location")).toBe(ok);
    const unicode = await browser.get(`/signin?return_to=${encodeURIComponent("/ciba/ü?x=ü")}`);
    expect(unicode.headers.get("location")).toBe("/ciba/%C3%BC?x=%C3%BC");
  });

  it("a long authorization request survives sign-in (return_to up to 4096 characters)", async () => {
    const browser = await signedIn((await newUser()).username);
    const long = `/authorize?client_id=a&state=${"s".repeat(3000)}`;
    expect((await browser.get(`/signin?return_to=${encodeURIComponent(long)}`)).headers.get("location")).toBe(long);
  });
});

describe("/ciba, the pending list", () => {
  it("sends a visitor who is not signed in to the sign-in page, and back", async () => {
    const response = await new Browser().get("/ciba");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/signin?return_to=%2Fciba");
  });

  it("shows each pending request: client name, binding message, scopes in plain words, time left", async () => {
    const { username } = await newUser();
    const { internalId } = await startRequest(username);
    const html = await (await (await signedIn(username)).get("/ciba")).text();
    expect(html).toContain("Cash machine");
    expect(html).toContain("ATM 7 · 4821");
    expect(html).toContain("Your e-mail address");
    expect(html).toMatch(/\d+ min \d+ s left/);
    expect(html).toContain(`href="/ciba/requests/${internalId}"`);
  });
});

describe("/ciba/requests/{id}: approve or deny", () => {
  it("leads through sign-in when needed (the notification's approval URL)", async () => {
    const { username } = await newUser();
    const { internalId } = await startRequest(username);
    const browser = new Browser();
    const first = await browser.get(`/ciba/requests/${internalId}`);
    expect(first.headers.get("location")).toBe(
      `/signin?return_to=${encodeURIComponent(`/ciba/requests/${internalId}`)}`,
    );
    const signIn = await browser.signIn(username, `${username}-password`, `/ciba/requests/${internalId}`);
    expect(signIn.headers.get("location")).toBe(`/ciba/requests/${internalId}`);
    expect((await browser.get(`/ciba/requests/${internalId}`)).status).toBe(200);
  });

  it("shows a ticked checkbox per scope, and approving a subset gives tokens for that subset", async () => {
    // A user of its own: exactly one session, so the one in D1 is the one that approved.
    const { username, sub } = await newUser();
    const { authReqId, internalId } = await startRequest(username);
    const browser = await signedIn(username);
    const html = await (await browser.get(`/ciba/requests/${internalId}`)).text();
    for (const scope of ["profile", "email", "phone"]) {
      expect(html).toMatch(new RegExp(`name="scope" value="${scope}" checked`));
    }
    const result = await browser.post(`/ciba/requests/${internalId}`, {
      csrf: Browser.csrfOf(html),
      action: "approve",
      scope: ["email"],
      description: "withdrawal",
    });
    expect(result.status).toBe(200);
    expect(await result.text()).toContain("You approved the request from Cash machine");
    // Read before the tokens: the token response deletes the used request (issue 18).
    const request = await requestFor(authReqId);

    const tokens = await poll("atm", SECRET, authReqId);
    expect(tokens.status).toBe(200);
    expect(tokens.body.scope).toBe("openid email");
    const session = await env.DB.prepare("SELECT sid FROM sessions WHERE subject = ? ORDER BY created_at DESC")
      .bind(sub)
      .first<{ sid: string }>();
    expect(request.sessionId).toBe(session?.sid);
    expect(decodeJwt(tokens.body.id_token as string).sid).toBe(session?.sid);
  });

  it("denies with Deny: the client gets access_denied", async () => {
    const { username } = await newUser();
    const { authReqId, internalId } = await startRequest(username);
    const browser = await signedIn(username);
    const csrf = Browser.csrfOf(await (await browser.get(`/ciba/requests/${internalId}`)).text());
    const result = await browser.post(`/ciba/requests/${internalId}`, { csrf, action: "deny" });
    expect(await result.text()).toContain("You denied the request");
    expect((await poll("atm", SECRET, authReqId)).body.error).toBe("access_denied");
  });

  it("refuses an answer without the CSRF token, leaving the request pending", async () => {
    const { username } = await newUser();
    const { authReqId, internalId } = await startRequest(username);
    const browser = await signedIn(username);
    await browser.get(`/ciba/requests/${internalId}`);
    const forged = await browser.post(`/ciba/requests/${internalId}`, {
      csrf: "x",
      action: "approve",
      scope: ["email"],
    });
    expect(forged.status).toBe(403);
    expect((await requestFor(authReqId)).status).toBe("pending");
  });

  it("tells another user the request is not found, and does not let them answer it", async () => {
    const { username } = await newUser();
    const other = await newUser();
    const { authReqId, internalId } = await startRequest(username);
    const ivan = await signedIn(other.username);
    const view = await ivan.get(`/ciba/requests/${internalId}`);
    expect(view.status).toBe(404);
    expect(await view.text()).toContain("not for this account");
    const csrf = Browser.csrfOf(await (await ivan.get("/ciba")).text());
    const answer = await ivan.post(`/ciba/requests/${internalId}`, { csrf, action: "approve" });
    expect(answer.status).toBe(404);
    expect((await requestFor(authReqId)).status).toBe("pending");
  });

  it("shows a clear message for an answered or an unknown request", async () => {
    const { username } = await newUser();
    const { internalId } = await startRequest(username);
    const browser = await signedIn(username);
    const csrf = Browser.csrfOf(await (await browser.get(`/ciba/requests/${internalId}`)).text());
    await browser.post(`/ciba/requests/${internalId}`, { csrf, action: "deny" });
    const again = await browser.get(`/ciba/requests/${internalId}`);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("You already denied this request.");
    const unknown = await browser.get(`/ciba/requests/${"0".repeat(64)}`);
    expect(unknown.status).toBe(404);
    const garbage = await browser.get("/ciba/requests/%00%ff");
    expect(garbage.status).toBe(404);
  });
});

describe("sessions", () => {
  it("end with sign-out: the old cookie no longer signs anyone in", async () => {
    const browser = await signedIn((await newUser()).username);
    const saved = new Map(browser.cookies);
    const csrf = Browser.csrfOf(await (await browser.get("/ciba")).text());
    expect((await browser.post("/signout", { csrf })).status).toBe(200);
    expect((await browser.get("/ciba")).status).toBe(303);
    const replay = new Browser();
    for (const [k, v] of saved) replay.cookies.set(k, v);
    expect((await replay.get("/ciba")).status).toBe(303);
  });

  it("signing in as another user in the same browser ends the previous session and rotates the CSRF cookie", async () => {
    const first = await newUser();
    const second = await newUser();
    const browser = await signedIn(first.username);
    const before = new Map(browser.cookies);
    const oldCsrf = Browser.csrfOf(await (await browser.get("/ciba")).text());
    // The sign-in form posted from a page still open in this browser (a live session skips the form).
    const switched = await browser.post("/signin", {
      csrf: oldCsrf,
      username: second.username,
      password: `${second.username}-password`,
      return_to: "/ciba",
    });
    expect(switched.status).toBe(303);
    // The first user's session is over on the server: its cookie signs nobody in any more.
    const replay = new Browser();
    for (const [name, value] of before) replay.cookies.set(name, value);
    expect((await replay.get("/ciba")).status).toBe(303);
    // A new CSRF cookie: the token the first user's pages carried no longer works.
    expect(browser.cookies.get("edge-op-csrf")).toBeDefined();
    expect(browser.cookies.get("edge-op-csrf")).not.toBe(before.get("edge-op-csrf"));
    expect((await browser.post("/signout", { csrf: oldCsrf })).status).toBe(403);
    const page = await browser.get("/ciba");
    expect(page.status).toBe(200);
    expect(Browser.csrfOf(await page.text())).not.toBe(oldCsrf);
  });

  it("signing in again as the same user starts a new session (no fixation) and rotates the CSRF cookie", async () => {
    const { username } = await newUser();
    const browser = await signedIn(username);
    const before = new Map(browser.cookies);
    const oldCsrf = Browser.csrfOf(await (await browser.get("/signin?prompt=login")).text());
    const again = await browser.post("/signin", { csrf: oldCsrf, username, password: `${username}-password` });
    expect(again.status).toBe(303);
    expect(browser.cookies.get("edge-op-session")).not.toBe(before.get("edge-op-session"));
    expect(browser.cookies.get("edge-op-csrf")).not.toBe(before.get("edge-op-csrf"));
    const replay = new Browser();
    for (const [name, value] of before) replay.cookies.set(name, value);
    expect((await replay.get("/ciba")).status).toBe(303);
    expect((await browser.get("/ciba")).status).toBe(200);
  });

  it("refuses sign-out without the CSRF token", async () => {
    const browser = await signedIn((await newUser()).username);
    expect((await browser.post("/signout", { csrf: "nope" })).status).toBe(403);
    expect((await browser.get("/ciba")).status).toBe(200);
  });

  it("expire server-side: an expired session is not accepted", async () => {
    const { username, sub } = await newUser();
    const browser = await signedIn(username);
    expect((await browser.get("/ciba")).status).toBe(200);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE subject = ?")
      .bind(Math.floor(Date.now() / 1000) - 1, sub)
      .run();
    expect((await browser.get("/ciba")).status).toBe(303);
  });
});

describe("page routes and bad input", () => {
  it("answer a wrong method with 405 and an oversized form with 413", async () => {
    expect((await new Browser().send("/ciba", { method: "DELETE" })).status).toBe(405);
    const browser = new Browser();
    const big = await browser.post("/signin", { padding: "x".repeat(20_000) });
    expect(big.status).toBe(413);
  });
});
