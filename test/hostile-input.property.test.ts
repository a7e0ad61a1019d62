/**
 * Property: whatever a client sends — any method, path, content type, body or Authorization
 * header — the provider answers with a 4xx JSON error (or a success), never a 5xx. The pages
 * are fuzzed twice: as a stranger, and signed in with a live session and the real CSRF token.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { backchannel, requestFor } from "./helpers/ciba";
import { ENDPOINTS, GRANT_TYPE_VALUES, PAGES, PARAMETER_NAMES } from "./helpers/endpoints";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER } from "./helpers/http";

await registerClient({
  client_id: "fuzz-client",
  client_secret: "fuzz-secret-0123456789",
  grant_types: ["client_credentials", "refresh_token", "urn:openid:params:grant-type:ciba"],
  backchannel_token_delivery_mode: "poll",
});
await registerUser({ username: "fuzz-user", password: "fuzz-password" });

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    ...GRANT_TYPE_VALUES,
    "fuzz-client",
    "fuzz-user",
    "openid",
    "openid profile",
    "%",
    "%zz",
    "\u0000",
    "a".repeat(3000),
  ),
);

const formBody = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMETER_NAMES), fc.string({ maxLength: 10 })), text), {
    maxLength: 12,
  })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"));

const rawBody = fc.oneof(
  formBody,
  fc.string({ maxLength: 200 }),
  fc.constantFrom("%", "a=%E0%A4%A", "=&=&", "a=1&a=2", '{"grant_type":"client_credentials"}'),
);

const contentType = fc.constantFrom(
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=utf-8",
  "application/json",
  "text/plain",
  "multipart/form-data",
  "",
  "x/y; ;;",
);

const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(`Basic ${btoa("fuzz-client:fuzz-secret-0123456789")}`),
  fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 60 }),
);

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
  path: fc.oneof(
    fc.constantFrom(...ENDPOINTS),
    fc.tuple(fc.constantFrom(...ENDPOINTS), fc.string({ maxLength: 20 })).map(([p, q]) => `${p}?${encodeURI(q)}`),
  ),
  contentType,
  body: rawBody,
  authorization,
});

/** Header values must be ISO-8859-1 without CR/LF, or fetch itself refuses to send them. */
function sendable(value: string): boolean {
  return /^[\x20-\x7e\x80-\xff]*$/.test(value);
}

/**
 * RFC 6750 §3.1: a request to a protected resource with no credentials gets a challenge with no
 * error code and no other error information, so no JSON body either.
 */
function isBareBearerChallenge(response: Response): boolean {
  const challenge = response.headers.get("www-authenticate") ?? "";
  return response.status === 401 && /^Bearer\b/.test(challenge) && !/error=/.test(challenge);
}

describe("hostile input at every endpoint", () => {
  it("never yields a 5xx; every error is JSON with an error code", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.authorization !== undefined && sendable(r.authorization)) headers.authorization = r.authorization;
        const withBody = r.method !== "GET";
        const response = await call(r.path, { method: r.method, headers, body: withBody ? r.body : undefined });
        expect(response.status, `${r.method} ${r.path}`).toBeLessThan(500);
        if (isBareBearerChallenge(response)) {
          await response.body?.cancel();
        } else if (response.status >= 400) {
          expect(response.headers.get("content-type")).toContain("application/json");
          const body = (await response.json()) as { error?: unknown };
          expect(typeof body.error).toBe("string");
        } else {
          await response.body?.cancel();
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("hostile input at every page", () => {
  it("never yields a 5xx", async () => {
    const pageRequest = request.map((r) => ({ ...r, path: r.path.replace(/^[^?]*/, "") }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PAGES), pageRequest, async (page, r) => {
        const headers: Record<string, string> = { "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` };
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.authorization !== undefined && sendable(r.authorization))
          headers.cookie = `edge-op-session=${encodeURIComponent(r.authorization)}`;
        const withBody = r.method !== "GET";
        const response = await call(`${page}${r.path}`, {
          method: r.method,
          headers,
          body: withBody ? r.body : undefined,
          redirect: "manual",
        });
        expect(response.status, `${r.method} ${page}`).toBeLessThan(500);
        await response.body?.cancel();
      }),
      { numRuns: 300 },
    );
  });
});

// Issue 12: `return_to` and the pages a signed-in user sees, fuzzed with a real session cookie
// and the real CSRF token, so hostile input reaches the code behind the CSRF and session checks.

const CALLBACK = "https://fuzz.example/cb";
await registerClient({
  client_id: "fuzz-web",
  client_secret: "fuzz-web-secret-0123456789",
  grant_types: ["authorization_code"],
  redirect_uris: [CALLBACK],
  scope: "openid profile email",
});

/** Stand for the browser's current CSRF token and its user's pending request. */
const CSRF = "@csrf@";
const REQUEST_PAGE = "/ciba/requests/@request@";

/** return_to values: random text (any code unit, controls included) and known tricks. */
const returnTo = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => `/${s}`),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => `/${s}`),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc
    .tuple(
      fc.constantFrom("\t", "\n", "\r", "\u0000", "\u007f", "\u0085", "\u2028", "ü", "\\", "/.", "%09", "%0A"),
      fc.constantFrom("/", "//", ""),
    )
    .map(([trick, slash]) => `/${trick}${slash}/evil.example/x?y=${trick}#${trick}`),
  fc.constantFrom(
    "//evil.example",
    "/.//evil.example",
    "/..//evil.example",
    "https://evil.example",
    "/%2F%2Fevil.example",
  ),
);

const signedInText = fc.oneof(text, returnTo, fc.constantFrom(CSRF, "approve", "deny", "login", "consent none"));

/** Forms that mostly pass the CSRF check and choose an answer, so the code behind them runs. */
const signedInForm = fc
  .tuple(
    fc.boolean(),
    fc.constantFrom([], ["action", "approve"], ["action", "deny"], ["decision", "approve"], ["decision", "deny"]),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMETER_NAMES), fc.string({ maxLength: 10 })), signedInText), {
      maxLength: 8,
    }),
  )
  .map(([withCsrf, answer, pairs]) =>
    [...(withCsrf ? [["csrf", CSRF]] : []), ...(answer.length ? [answer] : []), ...pairs]
      .map(([k, v]) => `${encodeURIComponent(k ?? "")}=${encodeURIComponent(v ?? "")}`)
      .join("&"),
  );

/** A well-formed authorization request of fuzz-web, so a signed-in /authorize reaches consent. */
const AUTHORIZE = `/authorize?${new URLSearchParams({
  client_id: "fuzz-web",
  response_type: "code",
  redirect_uri: CALLBACK,
  scope: "openid profile",
  code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGgSFw-cMx",
  code_challenge_method: "S256",
})}`;

/**
 * A signed-in browser, its current CSRF token and a pending backchannel request for its user.
 * Signs in again (as a new user: sign-in attempts are limited per username) when signed out.
 */
class SignedInUser {
  browser = new Browser();
  username = "";
  csrf = "";
  internalId = "";

  async ensure(): Promise<void> {
    const page = await this.browser.get("/ciba");
    if (page.status === 200) {
      this.csrf = Browser.csrfOf(await page.text());
      return;
    }
    await page.body?.cancel();
    this.username = `fuzz-${crypto.randomUUID().slice(0, 8)}`;
    await registerUser({ username: this.username, password: `${this.username}-password` });
    this.browser = new Browser();
    expect((await this.browser.signIn(this.username, `${this.username}-password`)).status).toBe(303);
    const list = await this.browser.get("/ciba");
    expect(list.status).toBe(200);
    this.csrf = Browser.csrfOf(await list.text());
    await this.newRequest();
  }

  /** A pending request for this user, so /ciba/requests/{id} reaches the Approve / Deny code. */
  async newRequest(): Promise<void> {
    const { body } = await backchannel("fuzz-client", "fuzz-secret-0123456789", {
      scope: "openid profile",
      login_hint: this.username,
    });
    this.internalId = (await requestFor(body.auth_req_id)).internalId;
  }
}

/** A Location may only lead to this site or to the client's registered redirect URI. */
function expectSafeLocation(response: Response, what: string): void {
  const location = response.headers.get("location");
  if (location === null) return;
  expect(location, what).toMatch(/^[\x21-\x7e]+$/);
  const target = new URL(location, ISSUER);
  expect([ISSUER, new URL(CALLBACK).origin], what).toContain(target.origin);
  if (target.origin === ISSUER) expect(location, what).not.toMatch(/^\/\//);
}

describe("hostile return_to", () => {
  it("signed in or not, /signin answers 2xx/3xx/4xx and a Location only to this site, in printable ASCII", async () => {
    const user = new SignedInUser();
    await user.ensure();
    await fc.assert(
      fc.asyncProperty(returnTo, fc.boolean(), async (value, signedIn) => {
        const browser = signedIn ? user.browser : new Browser();
        const path = `/signin?return_to=${encodeURIComponent(value)}`;
        const response = await browser.get(path);
        const what = `GET ${JSON.stringify(path)}`;
        expect(response.status, what).toBeLessThan(500);
        if (signedIn) expect(response.status, what).toBe(303);
        expectSafeLocation(response, what);
        await response.body?.cancel();
      }),
      { numRuns: 300 },
    );
  });
});

describe("hostile input at every page, signed in with a valid session and CSRF token", () => {
  it("never yields a 5xx, and every Location stays on this site or the client's redirect URI", async () => {
    const user = new SignedInUser();
    await user.ensure();
    const pages = [...PAGES, REQUEST_PAGE, AUTHORIZE];
    const signedInRequest = fc.record({
      page: fc.constantFrom(...pages),
      query: fc.oneof(
        fc.constant(""),
        fc.tuple(fc.constant("return_to"), returnTo),
        fc.tuple(fc.constantFrom("prompt", "state", "max_age", "csrf"), signedInText),
      ),
      method: fc.constantFrom("GET", "GET", "POST", "POST", "PUT", "DELETE"),
      contentType: fc.oneof(
        { weight: 3, arbitrary: fc.constant("application/x-www-form-urlencoded") },
        { weight: 1, arbitrary: contentType },
      ),
      body: fc.oneof({ weight: 3, arbitrary: signedInForm }, { weight: 1, arbitrary: rawBody }),
      origin: fc.constantFrom(undefined, undefined, ISSUER, ISSUER, "https://evil.example", "null"),
    });
    await fc.assert(
      fc.asyncProperty(signedInRequest, async (r) => {
        const csrf = (s: string) => s.replaceAll(encodeURIComponent(CSRF), user.csrf).replaceAll(CSRF, user.csrf);
        const query = Array.isArray(r.query)
          ? `${encodeURIComponent(r.query[0])}=${encodeURIComponent(r.query[1])}`
          : "";
        const page = r.page.replace("@request@", user.internalId);
        const path = query ? `${page}${page.includes("?") ? "&" : "?"}${csrf(query)}` : page;
        const headers: Record<string, string> = {};
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.origin) headers.origin = r.origin;
        const response = await user.browser.send(path, {
          method: r.method,
          headers,
          body: r.method === "GET" ? undefined : csrf(r.body),
        });
        const what = `${r.method} ${path} ${r.method === "GET" ? "" : csrf(r.body).slice(0, 200)}`;
        expect(response.status, what).toBeLessThan(500);
        expectSafeLocation(response, what);
        await response.body?.cancel();
        // A sign-out, a sign-in or a new CSRF cookie: carry on with a live session and its token.
        if (response.headers.getSetCookie().length > 0) await user.ensure();
        if (r.page === REQUEST_PAGE && r.method === "POST" && response.status === 200) await user.newRequest();
      }),
      { numRuns: 500 },
    );
  });
});
