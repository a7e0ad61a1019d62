/**
 * Two providers in one Worker (test/worker.ts): the root one, and realm "b" mounted under
 * /realm-b with its own D1 database, backchannel request objects and signing keys, sharing KV
 * and the other Durable Object namespaces. Each has its own issuer (ISSUER's origin plus its
 * base path, OpenID Discovery §4), its own clients and users, and nothing one realm issued
 * (a request_uri, a code, an auth_req_id) is known in the other, even to a client_id both have.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { validateClientRegistration } from "../src/clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../src/clients/registry";
import { loadSettings } from "../src/config";
import { PATHS } from "../src/routes";
import { type UserRegistration, userRow } from "../src/users/store";
import { pkce } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { CIBA_GRANT } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { client as oidc } from "./helpers/rp";
import { realmB } from "./worker";

const B = "/realm-b";
const B_ISSUER = `${ISSUER}${B}`;
const SECRET = "shared-secret-0123456789";
const CALLBACK = "https://shared.example/cb";

/** A client registered in realm b's own database (as the admin tool would, with its DB binding). */
async function registerInB(registration: Parameters<typeof registerClient>[0]) {
  const reg = {
    client_name: `B ${registration.client_id}`,
    token_endpoint_auth_method: "client_secret_basic" as const,
    client_secret: `${registration.client_id}-secret-0123456789`,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    scope: "openid profile",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
    ...registration,
  };
  validateClientRegistration(reg, loadSettings(env).scopesSupported, { allowHttpNotificationEndpoints: true });
  const row = await clientRow(reg, env.DATA_ENCRYPTION_KEY);
  await env.REALM_B_DB.prepare(
    `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
  )
    .bind(...CLIENT_COLUMNS.map((column) => row[column]))
    .run();
}

async function registerUserInB(reg: UserRegistration): Promise<string> {
  const row = await userRow(reg, env.DATA_ENCRYPTION_KEY);
  const columns = Object.keys(row) as (keyof typeof row)[];
  await env.REALM_B_DB.prepare(
    `INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  )
    .bind(...columns.map((c) => row[c]))
    .run();
  return row.sub;
}

const shared = {
  client_id: "shared",
  client_secret: SECRET,
  grant_types: ["authorization_code", CIBA_GRANT],
  backchannel_token_delivery_mode: "poll" as const,
  redirect_uris: [CALLBACK],
  scope: "openid profile",
};

let bobInB = "";

beforeAll(async () => {
  await applyD1Migrations(env.REALM_B_DB, env.TEST_MIGRATIONS);
  // The same client_id, secret and redirect URI in both realms.
  await registerClient(shared);
  await registerInB(shared);
  await registerInB({ client_id: "b-only", client_secret: "b-only-secret-0123456789" });
  await registerClient({ client_id: "root-only", client_secret: "root-only-secret-0123456789" });
  await registerUser({ username: "bob", password: "bob-root-password" });
  bobInB = await registerUserInB({ username: "bob", password: "bob-b-password" });
});

async function jwksOf(path: string) {
  return createLocalJWKSet(await (await call(path)).json());
}

describe("a provider under a base path (OpenID Discovery §4: the issuer plus /.well-known/openid-configuration)", () => {
  it("is discovered at its issuer, origin plus base path, and every endpoint it lists is under it", async () => {
    const viaWorker: oidc.CustomFetch = (url, options) =>
      exports.default.fetch(new Request(url, options as RequestInit)) as unknown as ReturnType<oidc.CustomFetch>;
    // openid-client fetches <issuer>/.well-known/openid-configuration and checks its issuer.
    const configuration = await oidc.discovery(new URL(B_ISSUER), "shared", SECRET, undefined, {
      [oidc.customFetch]: viaWorker,
      execute: [oidc.allowInsecureRequests],
    });
    const metadata = configuration.serverMetadata();
    expect(metadata.issuer).toBe(B_ISSUER);
    for (const name of [
      "authorization_endpoint",
      "token_endpoint",
      "pushed_authorization_request_endpoint",
      "backchannel_authentication_endpoint",
      "jwks_uri",
      "userinfo_endpoint",
    ] as const) {
      expect(String(metadata[name]), name).toMatch(new RegExp(`^${B_ISSUER}/`));
    }
    const root = await jsonOf<{ issuer: string }>(await call("/.well-known/openid-configuration"));
    expect(root.body.issuer).toBe(ISSUER);
  });

  it("signs with its own keys, under its own issuer", async () => {
    const { body } = await jsonOf<{ access_token: string }>(
      await postForm(`${B}/token`, { grant_type: "client_credentials" }, basic("b-only", "b-only-secret-0123456789")),
    );
    const { payload } = await jwtVerify(body.access_token, await jwksOf(`${B}/jwks`), { issuer: B_ISSUER });
    expect(payload.aud).toBe(B_ISSUER);
    await expect(jwtVerify(body.access_token, await jwksOf("/jwks"))).rejects.toThrow();
  });

  it("serves its pages, links and forms under the base path", async () => {
    const browser = new Browser();
    const page = await browser.get(`${B}/signin`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain(`action="${B}/signin"`);
    expect(html).toContain(`href="${B}/assets/app.css"`);
    expect((await browser.get(`${B}/assets/app.css`)).status).toBe(200);
    // Signed out, its request list sends the browser to its own sign-in page.
    const list = await browser.get(`${B}/ciba`);
    expect(list.status).toBe(303);
    expect(list.headers.get("location")).toBe(`${B}/signin?return_to=${encodeURIComponent(`${B}/ciba`)}`);
  });

  it("keeps every link, form, script and URL its pages name under the base path, the console's too", async () => {
    const sub = await registerUserInB({ username: "carol", password: "carol-b-password" });
    await env.REALM_B_DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, ?)").bind(sub, 0).run();
    const browser = new Browser();
    const form = await browser.get(`${B}/signin`);
    const signedIn = await browser.post(`${B}/signin`, {
      csrf: Browser.csrfOf(await form.text()),
      username: "carol",
      password: "carol-b-password",
      return_to: `${B}/ciba`,
    });
    expect(signedIn.headers.get("location")).toBe(`${B}/ciba`);
    // A pending request of carol's, so the list links to its page.
    const started = await postForm(
      `${B}/bc-authorize`,
      { scope: "openid", login_hint: "carol" },
      basic("shared", SECRET),
    );
    expect(started.status).toBe(200);
    const [pending] = await realmB.interaction(env).backchannel.getPendingLoginRequestsForCurrentUser({ subject: sub });
    const pages = [
      "/ciba",
      `/ciba/requests/${pending?.internalId}`,
      "/account",
      "/passkeys",
      ...Object.entries(PATHS)
        .filter(([, path]) => (path === "/admin" || path.startsWith("/admin/")) && !path.includes(":"))
        .filter(([, path]) => !path.startsWith("/admin/api") && path !== "/admin/step-up/options")
        .map(([, path]) => path),
    ];
    const outside: string[] = [];
    let named = 0;
    for (const page of pages) {
      const response = await browser.get(`${B}${page}`);
      const location = response.headers.get("location");
      const html = await response.text();
      // A console path that only takes a form's POST has nothing to show.
      if (response.status === 405) continue;
      expect([page, response.status]).toEqual([page, location ? 303 : 200]);
      const urls = [
        ...(location ? [location] : []),
        ...[...html.matchAll(/\s(?:href|src|action|formaction|data-[\w-]+)="([^"]*)"/g)].map((m) => m[1] ?? ""),
      ];
      for (const raw of urls) {
        const url = raw.replace(/&amp;/g, "&");
        const local = url.startsWith("/") ? url : url.startsWith(ISSUER) ? url.slice(ISSUER.length) : undefined;
        if (local === undefined) continue;
        named++;
        if (local !== B && !local.startsWith(`${B}/`) && !local.startsWith(`${B}?`)) outside.push(`${page}: ${url}`);
      }
    }
    expect(named).toBeGreaterThan(pages.length * 2);
    expect(outside).toEqual([]);
    // The installable app is scoped to the base path too.
    const manifest = await (await browser.get(`${B}/manifest.webmanifest`)).json<{
      start_url: string;
      scope: string;
    }>();
    expect(manifest.start_url).toBe(`${B}/ciba`);
    expect(manifest.scope).toBe(`${B}/`);
  });

  it("keeps its cookies to its path: __Secure- with Path=<basePath> over https, its realm in the name", async () => {
    const https = { ISSUER: "https://id.example" };
    const cookieOf = async (response: Response) => response.headers.getSetCookie().join("\n");
    const inB = await cookieOf(await realmB.fetch(new Request(`https://id.example${B}/signin`), { ...env, ...https }));
    expect(inB).toMatch(/^__Secure-edge-op-b-csrf=[^;]+;.*Path=\/realm-b(;|$)/m);
    expect(inB).toMatch(/Secure/);
    expect(inB).not.toContain("__Host-");
    const atRoot = await cookieOf(await call("/signin", undefined, https));
    expect(atRoot).toMatch(/^__Host-edge-op-csrf=[^;]+;.*Path=\/(;|$)/m);
    // Over http (local development) no prefix is possible; the path still follows the base path.
    expect(await cookieOf(await call(`${B}/signin`))).toMatch(/^edge-op-b-csrf=[^;]+;.*Path=\/realm-b(;|$)/m);
  });

  it("never sends a signed-in user back outside its base path (return_to)", async () => {
    const browser = new Browser();
    const form = await browser.get(`${B}/signin`);
    const response = await browser.post(`${B}/signin`, {
      csrf: Browser.csrfOf(await form.text()),
      username: "bob",
      password: "bob-b-password",
      return_to: "/ciba",
    });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`${B}/ciba`);
  });
});

describe("realms: what one provider knows, the other does not", () => {
  it("a client of one realm is unknown in the other", async () => {
    const atRoot = await postForm(
      "/token",
      { grant_type: "client_credentials" },
      basic("b-only", "b-only-secret-0123456789"),
    );
    expect(atRoot.status).toBe(401);
    expect(((await atRoot.json()) as OAuthErrorBody).error).toBe("invalid_client");
    const inB = await postForm(
      `${B}/token`,
      { grant_type: "client_credentials" },
      basic("root-only", "root-only-secret-0123456789"),
    );
    expect(inB.status).toBe(401);
  });

  it("a user is the realm's own: the same username signs in with each realm's own password", async () => {
    const tryPassword = async (prefix: string, password: string) => {
      const browser = new Browser();
      const form = await browser.get(`${prefix}/signin`);
      return (
        await browser.post(`${prefix}/signin`, { csrf: Browser.csrfOf(await form.text()), username: "bob", password })
      ).status;
    };
    expect(await tryPassword(B, "bob-b-password")).toBe(303);
    expect(await tryPassword(B, "bob-root-password")).toBe(401);
    expect(await tryPassword("", "bob-root-password")).toBe(303);
  });

  it("a request_uri pushed in one realm is unknown in the other, even for a client_id both have (RFC 9126 §4)", async () => {
    const { challenge } = await pkce();
    const pushed = await jsonOf<{ request_uri: string }>(
      await postForm(
        `${B}/par`,
        {
          response_type: "code",
          redirect_uri: CALLBACK,
          scope: "openid",
          code_challenge: challenge,
          code_challenge_method: "S256",
        },
        basic("shared", SECRET),
      ),
    );
    expect(pushed.status).toBe(201);
    const query = `client_id=shared&request_uri=${encodeURIComponent(pushed.body.request_uri)}`;
    const atRoot = await new Browser().get(`/authorize?${query}`);
    expect(atRoot.status).toBe(400);
    expect(await atRoot.text()).toContain("invalid_request_uri");
    // In its own realm it is known: the browser is sent to that realm's sign-in page.
    const inB = await new Browser().get(`${B}/authorize?${query}`);
    expect(inB.status).toBe(303);
    expect(inB.headers.get("location")).toMatch(
      new RegExp(`^${B}/signin\\?return_to=${encodeURIComponent(`${B}/authorize?`)}`),
    );
  });

  it("the code flow runs under the base path, and its code is unknown in the other realm", async () => {
    const { verifier, challenge } = await pkce();
    const browser = new Browser();
    const authorize = `${B}/authorize?${new URLSearchParams({
      client_id: "shared",
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid profile",
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: "s1",
    })}`;
    const toSignIn = await browser.get(authorize);
    const signInUrl = toSignIn.headers.get("location") ?? "";
    const returnTo = new URL(signInUrl, ISSUER).searchParams.get("return_to") ?? "";
    expect(returnTo).toBe(authorize);
    const form = await browser.get(signInUrl);
    const signedIn = await browser.post(`${B}/signin`, {
      csrf: Browser.csrfOf(await form.text()),
      username: "bob",
      password: "bob-b-password",
      return_to: returnTo,
    });
    expect(signedIn.headers.get("location")).toBe(authorize);
    const consent = await (await browser.get(authorize)).text();
    const action =
      /<form method="post" action="([^"]*\/authorize[^"]*)"/.exec(consent)?.[1]?.replace(/&amp;/g, "&") ?? "";
    expect(action).toBe(authorize);
    const approved = await browser.post(action, { csrf: Browser.csrfOf(consent), decision: "approve" });
    const redirect = new URL(approved.headers.get("location") ?? "");
    expect(`${redirect.origin}${redirect.pathname}`).toBe(CALLBACK);
    // RFC 9207: the authorization response names this realm's issuer.
    expect(redirect.searchParams.get("iss")).toBe(B_ISSUER);
    const code = redirect.searchParams.get("code") ?? "";
    const exchange = (prefix: string) =>
      postForm(
        `${prefix}/token`,
        { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
        basic("shared", SECRET),
      );
    // Presented at the root first: its code objects are another realm's, so it is unknown there …
    const atRoot = await jsonOf<OAuthErrorBody>(await exchange(""));
    expect(atRoot.body.error).toBe("invalid_grant");
    // … and still good, once, in its own realm.
    const tokens = await jsonOf<{ id_token: string }>(await exchange(B));
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token)).toMatchObject({ iss: B_ISSUER, sub: bobInB, aud: "shared" });
  });

  it("a backchannel request lives in its realm's own objects; its auth_req_id is unknown in the other", async () => {
    const started = await jsonOf<{ auth_req_id: string }>(
      await postForm(`${B}/bc-authorize`, { scope: "openid", login_hint: "bob" }, basic("shared", SECRET)),
    );
    expect(started.status).toBe(200);
    const interaction = realmB.interaction(env).backchannel;
    const [pending] = await interaction.getPendingLoginRequestsForCurrentUser({ subject: bobInB });
    expect(pending?.approvalUrl).toBe(`${B_ISSUER}/ciba/requests/${pending?.internalId}`);
    const outcome = await interaction.completeLoginRequest(
      { internalId: pending?.internalId ?? "", scopesValuesConsented: ["openid"] },
      { subject: bobInB },
    );
    expect(outcome.ok).toBe(true);
    const poll = (prefix: string) =>
      postForm(
        `${prefix}/token`,
        { grant_type: CIBA_GRANT, auth_req_id: started.body.auth_req_id },
        basic("shared", SECRET),
      );
    expect((await jsonOf<OAuthErrorBody>(await poll(""))).body.error).toBe("invalid_grant");
    const tokens = await jsonOf<{ id_token: string }>(await poll(B));
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token).iss).toBe(B_ISSUER);
  });
});
