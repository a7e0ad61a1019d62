/**
 * Property (issue 19, the short version of `npm run fuzz`): the authenticator API, called with
 * valid credentials (a Bearer token with ciba:approve from the code flow, or the user's session
 * cookie) on the user's own pending request or on any id, with JSON bodies close to valid ones,
 * answers a success or a JSON error with an error code, never a 5xx. Also the fuzz run's whole
 * mix, a few hundred requests, so the generators `npm run fuzz` sends by the hundred thousand are
 * exercised in every `npm test`. The generators live in scripts/lib/hostile.ts.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  answerProblem,
  fillPlaceholders,
  type HostileOptions,
  type HostileRequest,
  hostileGenerators,
  type PlaceholderValues,
} from "../scripts/lib/hostile";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, postForm } from "./helpers/http";

const SECRET = "hostile-api-secret-0123456789";
const CALLBACK = "https://hostile-app.example/cb";
const OPTIONS: HostileOptions = {
  client: { id: "hostile-kiosk", secret: SECRET },
  username: "hostile-someone",
  issuer: ISSUER,
  webClient: { id: "hostile-app", redirectUri: CALLBACK },
};

beforeAll(async () => {
  await registerClient({
    client_id: "hostile-kiosk",
    client_secret: SECRET,
    grant_types: ["urn:openid:params:grant-type:ciba", "client_credentials"],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile email",
  });
  // The user's authenticator app: a code-flow client whose tokens may carry ciba:approve.
  await registerClient({
    client_id: "hostile-app",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid profile ciba:approve",
  });
  await registerUser({ username: "hostile-someone", password: "hostile-someone-password" });
});

/** A signed-in user with a live CSRF token, a pending request and an authenticator token. */
class Lane {
  browser = new Browser();
  username = "";
  values: PlaceholderValues = { csrf: "", request: "", bearer: "" };

  async ensureSession(): Promise<void> {
    const page = await this.browser.get("/ciba");
    if (page.status === 200) {
      this.values.csrf = Browser.csrfOf(await page.text());
      return;
    }
    await page.body?.cancel();
    // Sign-in attempts are limited per username: a new user each time the browser is signed out.
    this.username = `hostile-${crypto.randomUUID().slice(0, 8)}`;
    await registerUser({ username: this.username, password: `${this.username}-password` });
    this.browser = new Browser();
    expect((await this.browser.signIn(this.username, `${this.username}-password`)).status).toBe(303);
    await this.ensureSession();
    await this.newRequest();
    await this.newToken();
  }

  async newRequest(): Promise<void> {
    const { body } = await backchannel("hostile-kiosk", SECRET, { scope: "openid profile", login_hint: this.username });
    this.values.request = (await requestFor(body.auth_req_id)).internalId;
  }

  /** Through the code flow of the authenticator app, as the user's phone gets it. */
  async newToken(): Promise<void> {
    const { verifier, challenge } = await pkce();
    const url = `${ISSUER}/authorize?${new URLSearchParams({
      client_id: "hostile-app",
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid ciba:approve",
      code_challenge: challenge,
      code_challenge_method: "S256",
    })}`;
    const user = { username: this.username, password: `${this.username}-password` };
    const redirect = await walk(this.browser, url, user);
    const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? "";
    const tokens = await postForm(
      "/token",
      { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
      basic("hostile-app", SECRET),
    );
    expect(tokens.status).toBe(200);
    this.values.bearer = ((await tokens.json()) as { access_token: string }).access_token;
    // The credentials are valid: the API lists the user's pending requests with them.
    const list = await call("/api/ciba/requests", { headers: { authorization: `Bearer ${this.values.bearer}` } });
    expect(list.status).toBe(200);
    await list.body?.cancel();
  }

  /** How many answers were 2xx, by kind of request. */
  successes: Record<string, number> = {};

  async send(request: HostileRequest): Promise<string | undefined> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name] = fillPlaceholders(value, this.values);
    const path = fillPlaceholders(request.path, this.values);
    const init = {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : fillPlaceholders(request.body, this.values),
    };
    const response = request.signedIn
      ? await this.browser.send(path, init)
      : await call(path, { ...init, redirect: "manual" });
    const body = await response.text();
    if (response.status < 300) this.successes[request.kind] = (this.successes[request.kind] ?? 0) + 1;
    const problem = answerProblem(
      request,
      {
        status: response.status,
        contentType: response.headers.get("content-type"),
        wwwAuthenticate: response.headers.get("www-authenticate"),
        location: response.headers.get("location"),
        body,
      },
      OPTIONS,
    );
    if (request.signedIn && response.headers.getSetCookie().length > 0) await this.ensureSession();
    if (response.status === 200 && request.method === "POST" && /^\/(api\/)?ciba\/requests\//.test(request.path)) {
      await this.newRequest();
    }
    return problem && `${problem}: ${request.method} ${path} ${init.body?.slice(0, 200) ?? ""} → ${body.slice(0, 200)}`;
  }
}

const generators = hostileGenerators(OPTIONS);

describe("hostile input at the authenticator API with valid credentials", () => {
  it("never yields a 5xx; every error is JSON with an error code", async () => {
    const lane = new Lane();
    await lane.ensureSession();
    await fc.assert(
      fc.asyncProperty(generators.authenticatorRequest, async (request) => {
        expect(await lane.send(request)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    // Not vacuous: with valid credentials some requests get through to the interaction service.
    expect(lane.successes.authenticator).toBeGreaterThan(0);
  });
});

describe("the fuzz run's whole mix, briefly", () => {
  it("no answer has a problem (5xx, a non-JSON error, a Location off this site)", async () => {
    const lane = new Lane();
    await lane.ensureSession();
    await fc.assert(
      fc.asyncProperty(generators.anyRequest, async (request) => {
        expect(await lane.send(request)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
