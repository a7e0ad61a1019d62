/**
 * Property: whatever a client sends — any method, path, content type, body or Authorization
 * header — the provider answers with a 4xx JSON error (or a success), never a 5xx. The pages
 * are fuzzed twice: as a stranger, and signed in with a live session and the real CSRF token
 * (forms, and the JSON calls the pages' scripts make); the console's pages signed in as an
 * admin; and `return_to` (issue 12) signed in and out.
 *
 * The generators and the check of each answer are the ones `npm run fuzz` and the soak use
 * (scripts/lib/hostile.ts), so this is the short version of the fuzz run (issue 19), inside workerd.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  answerProblem,
  fillPlaceholders,
  type HostileOptions,
  type HostileRequest,
  hostileGenerators,
  type PlaceholderValues,
} from "../scripts/lib/hostile";
import { Browser } from "./helpers/browser";
import { backchannel, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER } from "./helpers/http";

const OPTIONS: HostileOptions = {
  client: { id: "fuzz-client", secret: "fuzz-secret-0123456789" },
  username: "fuzz-user",
  issuer: ISSUER,
  webClient: { id: "fuzz-web", redirectUri: "https://fuzz.example/cb" },
};

await registerClient({
  client_id: OPTIONS.client.id,
  client_secret: OPTIONS.client.secret,
  grant_types: ["client_credentials", "refresh_token", "urn:openid:params:grant-type:ciba"],
  backchannel_token_delivery_mode: "poll",
});
await registerClient({
  client_id: OPTIONS.webClient.id,
  client_secret: "fuzz-web-secret-0123456789",
  grant_types: ["authorization_code"],
  redirect_uris: [OPTIONS.webClient.redirectUri],
  scope: "openid profile email",
});
await registerUser({ username: OPTIONS.username, password: "fuzz-password" });

const generators = hostileGenerators(OPTIONS);

/**
 * A signed-in browser, its current CSRF token and a pending backchannel request for its user.
 * Signs in again (as a new user: sign-in attempts are limited per username) when signed out.
 */
class SignedInUser {
  /** `admin`: the user has the admin role (the console's pages). */
  constructor(private readonly admin = false) {}

  browser = new Browser();
  username = "";
  csrf = "";
  internalId = "";

  /** The placeholders' values for this user (no Bearer token: these pages take the session). */
  get values(): PlaceholderValues {
    return { csrf: this.csrf, request: this.internalId, bearer: "" };
  }

  async ensure(): Promise<void> {
    const page = await this.browser.get("/ciba");
    if (page.status === 200) {
      this.csrf = Browser.csrfOf(await page.text());
      return;
    }
    await page.body?.cancel();
    this.username = `fuzz-${crypto.randomUUID().slice(0, 8)}`;
    const sub = await registerUser({ username: this.username, password: `${this.username}-password` });
    if (this.admin) {
      await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, ?)").bind(sub, 0).run();
    }
    this.browser = new Browser();
    expect((await this.browser.signIn(this.username, `${this.username}-password`)).status).toBe(303);
    const list = await this.browser.get("/ciba");
    expect(list.status).toBe(200);
    this.csrf = Browser.csrfOf(await list.text());
    await this.newRequest();
  }

  /** A pending request for this user, so /ciba/requests/{id} reaches the Approve / Deny code. */
  async newRequest(): Promise<void> {
    const { body } = await backchannel(OPTIONS.client.id, OPTIONS.client.secret, {
      scope: "openid profile",
      login_hint: this.username,
    });
    this.internalId = (await requestFor(body.auth_req_id)).internalId;
  }
}

/**
 * Sends `request` (as `user`'s browser when it is a signed-in one, its placeholders filled in)
 * and fails with what reproduces it if the answer has a problem (scripts/lib/hostile.ts).
 */
async function expectGoodAnswer(request: HostileRequest, user?: SignedInUser): Promise<Response> {
  const values = user?.values ?? { csrf: "", request: "", bearer: "" };
  const path = fillPlaceholders(request.path, values);
  const body = request.body === undefined ? undefined : fillPlaceholders(request.body, values);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = fillPlaceholders(value, values);
  const init = { method: request.method, headers, body, redirect: "manual" as const };
  const response = request.signedIn && user ? await user.browser.send(path, init) : await call(path, init);
  const text = await response.text();
  const problem = answerProblem(
    request,
    {
      status: response.status,
      contentType: response.headers.get("content-type"),
      wwwAuthenticate: response.headers.get("www-authenticate"),
      location: response.headers.get("location"),
      body: text,
    },
    OPTIONS,
  );
  expect(problem, `${request.method} ${JSON.stringify(path)} ${(body ?? "").slice(0, 200)}`).toBeUndefined();
  return response;
}

describe("hostile input at every endpoint", () => {
  it("never yields a 5xx; every error is JSON with an error code", async () => {
    await fc.assert(
      fc.asyncProperty(generators.endpointRequest, async (request) => {
        await expectGoodAnswer(request);
      }),
      { numRuns: 400 },
    );
  });
});

describe("hostile input at every page", () => {
  it("never yields a 5xx, and every Location stays on this site", async () => {
    await fc.assert(
      fc.asyncProperty(generators.pageRequest, async (request) => {
        await expectGoodAnswer(request);
      }),
      { numRuns: 300 },
    );
  });
});

describe("hostile return_to", () => {
  it("signed in or not, /signin answers 2xx/3xx/4xx (303 signed in) and a Location only to this site, in printable ASCII", async () => {
    const user = new SignedInUser();
    await user.ensure();
    await fc.assert(
      fc.asyncProperty(generators.returnToRequest, async (request) => {
        await expectGoodAnswer(request, user);
      }),
      { numRuns: 300 },
    );
  });
});

describe("hostile input at every page, signed in with a valid session and CSRF token", () => {
  it("never yields a 5xx, and every Location stays on this site or the client's redirect URI", async () => {
    const user = new SignedInUser();
    await user.ensure();
    await fc.assert(
      fc.asyncProperty(generators.signedInRequest, async (request) => {
        const response = await expectGoodAnswer(request, user);
        // A sign-out, a sign-in or a new CSRF cookie: carry on with a live session and its token.
        if (response.headers.getSetCookie().length > 0) await user.ensure();
        const answered = request.path.startsWith("/ciba/requests/") && request.method === "POST";
        if (answered && response.status === 200) await user.newRequest();
      }),
      { numRuns: 800 },
    );
  });
});

describe("hostile input at every console page, signed in as an admin with a valid session and CSRF token", () => {
  it("never yields a 5xx, and every Location stays on this site", async () => {
    const admin = new SignedInUser(true);
    await admin.ensure();
    await fc.assert(
      fc.asyncProperty(generators.adminRequest, async (request) => {
        const response = await expectGoodAnswer(request, admin);
        if (response.headers.getSetCookie().length > 0) await admin.ensure();
      }),
      { numRuns: 300 },
    );
  });
});
