/**
 * Issue 15: removing a client or a user with the admin tool removes its consents, sessions and
 * token families. The admin tool's SQL (scripts/lib/removal.ts, then the row's DELETE) runs
 * here against the Worker's real D1, after a real code flow left a consent, a session, an
 * access token and a refresh-token family behind.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { clientRemovalStatements, userRemovalStatements } from "../scripts/lib/removal";
import { clientUpsertStatement, deleteStatement } from "../scripts/lib/sql";
import { clientRow } from "../src/clients/registry";
import { newGrantId } from "../src/tokens/grant";
import { issueUserTokens } from "../src/tokens/issue";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor } from "./helpers/ciba";
import { testContext } from "./helpers/context";
import { registerClient, registerUser, testRegistration } from "./helpers/fixtures";
import { basic, call, postForm } from "./helpers/http";
import { operatorToken } from "./helpers/operator";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "removal-app-secret-0123456789";
const CALLBACK = "https://rp.example/cb";

async function adminRuns(statements: string[]): Promise<void> {
  // wrangler d1 execute runs the statements in order, as the admin tool joins them.
  await env.DB.batch(statements.map((sql) => env.DB.prepare(sql)));
}

async function grantedSession(clientId: string) {
  await registerClient({
    client_id: clientId,
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid email offline_access",
  });
  const username = `rm-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  const browser = new Browser();
  const config = await discoverAs(clientId, SECRET, client.ClientSecretBasic(SECRET));
  const { verifier, challenge } = await pkce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: "openid email offline_access",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const response = await walk(browser, url, { username, password: `${username}-password` });
  const tokens = await client.authorizationCodeGrant(config, new URL(response.headers.get("location") ?? ""), {
    pkceCodeVerifier: verifier,
  });
  return { browser, tokens, sub, username };
}

async function rows(table: string, column: string, value: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`)
    .bind(value)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function refresh(clientId: string, refreshToken: string): Promise<number> {
  const response = await call("/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${btoa(`${clientId}:${SECRET}`)}`,
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });
  return response.status;
}

const kioskRegistration = (kiosk: string) =>
  testRegistration({
    client_id: kiosk,
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "refresh_token"],
    backchannel_token_delivery_mode: "poll",
    scope: "openid email offline_access",
  });

const registerKiosk = (kiosk: string) => registerClient(kioskRegistration(kiosk));

/**
 * A CIBA grant approved on the /ciba page by a new user for a new poll client: its grant and
 * refresh-token family are kept in the user's object (issue 18), with no session_grants row.
 */
async function cibaTokens(scopes: string[]) {
  const kiosk = `rm-kiosk-${crypto.randomUUID().slice(0, 8)}`;
  await registerKiosk(kiosk);
  const username = `rm-${crypto.randomUUID().slice(0, 8)}`;
  await registerUser({ username, password: `${username}-password` });
  const browser = new Browser();
  await browser.signIn(username, `${username}-password`);
  const started = await backchannel(kiosk, SECRET, { scope: `openid ${scopes.join(" ")}`, login_hint: username });
  const { internalId } = await requestFor(started.body.auth_req_id);
  const page = await (await browser.get(`/ciba/requests/${internalId}`)).text();
  const answer = await browser.post(`/ciba/requests/${internalId}`, {
    csrf: Browser.csrfOf(page),
    action: "approve",
    scope: scopes,
  });
  expect(answer.status).toBe(200);
  const polled = await poll(kiosk, SECRET, started.body.auth_req_id);
  expect(polled.status).toBe(200);
  const tokens = polled.body as unknown as { access_token: string; refresh_token?: string };
  return { kiosk, username, tokens };
}

const userinfo = async (token: string) =>
  (await call("/userinfo", { headers: { authorization: `Bearer ${token}` } })).status;

describe("admin tool removals cascade", () => {
  let clientId = "";
  beforeAll(() => {
    clientId = `rm-${crypto.randomUUID().slice(0, 8)}`;
  });

  it("client remove: its consents go, and its refresh and access tokens stop working", async () => {
    const { tokens, sub } = await grantedSession(clientId);
    expect(await rows("consents", "client_id", clientId)).toBe(1);
    expect(await userinfo(tokens.access_token)).toBe(200);
    await adminRuns([...clientRemovalStatements(clientId), deleteStatement("clients", "client_id", clientId)]);
    expect(await rows("consents", "client_id", clientId)).toBe(0);
    expect(await rows("session_grants", "client_id", clientId)).toBe(0);
    expect(await userinfo(tokens.access_token)).toBe(401);
    // A client registered again under the same id does not inherit the old family.
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: [CALLBACK],
      scope: "openid email offline_access",
    });
    expect(await refresh(clientId, tokens.refresh_token ?? "")).toBe(400);
    expect(await rows("consents", "subject", sub)).toBe(0);
  });

  it("user remove: their sessions, consents and token families go", async () => {
    const id = `rm-${crypto.randomUUID().slice(0, 8)}`;
    const { browser, tokens, sub, username } = await grantedSession(id);
    expect(await rows("sessions", "subject", sub)).toBe(1);
    await adminRuns([...userRemovalStatements(username), deleteStatement("users", "username", username)]);
    expect(await rows("sessions", "subject", sub)).toBe(0);
    expect(await rows("consents", "subject", sub)).toBe(0);
    expect(await rows("session_grants", "subject", sub)).toBe(0);
    expect(await userinfo(tokens.access_token)).toBe(401);
    expect(await refresh(id, tokens.refresh_token ?? "")).toBe(400);
    expect((await browser.get("/ciba")).status).toBe(303);
  });

  it("user remove: a CIBA grant's refresh-token family (kept in the user's object, out of SQL's reach) stops too", async () => {
    const { kiosk, username, tokens } = await cibaTokens(["email", "offline_access"]);
    const refreshToken = tokens.refresh_token ?? "";
    const introspect = async () =>
      (await postForm("/introspect", { token: refreshToken }, basic(kiosk, SECRET))).json();
    expect(await introspect()).toMatchObject({ active: true });
    await adminRuns([...userRemovalStatements(username), deleteStatement("users", "username", username)]);
    expect(await introspect()).toEqual({ active: false });
    expect(await refresh(kiosk, refreshToken)).toBe(400);
    expect(await userinfo(tokens.access_token)).toBe(401);
  });

  it("a username with a quote cannot break out of the statements (they go through sqlLiteral)", () => {
    const statements = userRemovalStatements("o'brien; DROP TABLE users; --");
    for (const sql of statements) expect(sql).toContain("'o''brien; DROP TABLE users; --'");
  });
});

describe("administration console removal cascades", () => {
  it("ClientAdmin.remove takes the client's consents and token families with it", async () => {
    const { ClientAdmin } = await import("../src/admin/clients");
    const { AdminStore } = await import("../src/admin/store");
    const id = `rm-${crypto.randomUUID().slice(0, 8)}`;
    const { tokens } = await grantedSession(id);
    await new ClientAdmin(env.DB, new AdminStore(env.DB), env.DATA_ENCRYPTION_KEY).remove(id, "test-admin");
    expect(await rows("clients", "client_id", id)).toBe(0);
    expect(await rows("consents", "client_id", id)).toBe(0);
    expect(await rows("session_grants", "client_id", id)).toBe(0);
    expect(await userinfo(tokens.access_token)).toBe(401);
  });
});

describe("RFC 7592 §2.3: a removed client's tokens that no session_grants row lists stop too", () => {
  const removeClient = (clientId: string) =>
    adminRuns([...clientRemovalStatements(clientId), deleteStatement("clients", "client_id", clientId)]);

  it("a CIBA grant's access token (its grant is kept in the user's object, issue 18) is refused at /userinfo", async () => {
    const { kiosk, tokens } = await cibaTokens(["email"]);
    expect(await userinfo(tokens.access_token)).toBe(200);
    await removeClient(kiosk);
    expect(await userinfo(tokens.access_token)).toBe(401);
  });

  it("a removed operator client's client_credentials token (no grant) is refused by the admin API", async () => {
    const operator = `rm-op-${crypto.randomUUID().slice(0, 8)}`;
    const token = await operatorToken(operator);
    const api = () => call("/admin/api/clients", { headers: { authorization: `Bearer ${token}` } });
    expect((await api()).status).toBe(200);
    await removeClient(operator);
    expect((await api()).status).toBe(401);
  });

  it("introspection answers active false to the resource server for a removed client's token", async () => {
    const API = "https://rm-api.example.com/";
    const server = `rm-rs-${crypto.randomUUID().slice(0, 8)}`;
    await registerClient({ client_id: server, introspection_resources: [API] });
    const owner = await registerClient({ client_id: `rm-owner-${crypto.randomUUID().slice(0, 8)}` });
    const subject = await registerUser({ username: `rm-${crypto.randomUUID().slice(0, 8)}`, password: "x-password" });
    // As the CIBA grant issues them: no session_grants row for removal to list.
    const tokens = await issueUserTokens(
      testContext(),
      owner,
      {
        clientId: owner.client_id,
        subject,
        scopes: ["openid"],
        resources: [API],
        authTime: Math.floor(Date.now() / 1000),
        amr: ["pwd"],
        grantId: newGrantId(),
      },
      { grantLinkKept: true },
    );
    const introspect = async () =>
      (await (
        await postForm("/introspect", { token: tokens.access_token }, basic(server, `${server}-secret-0123456789`))
      ).json()) as { active: boolean };
    expect((await introspect()).active).toBe(true);
    await removeClient(owner.client_id);
    expect(await introspect()).toEqual({ active: false });
  });
});

describe("RFC 7591 §3.2.1 client_id_issued_at: a client registered again under a removed client's id is another client", () => {
  const removeClient = (clientId: string) =>
    adminRuns([...clientRemovalStatements(clientId), deleteStatement("clients", "client_id", clientId)]);
  // Registration times are whole seconds: the new registration must come in a later second.
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_100));

  it("the old client's CIBA access and refresh tokens stay refused; the new registration's own tokens work", async () => {
    const { kiosk, tokens } = await cibaTokens(["email", "offline_access"]);
    const refreshToken = tokens.refresh_token ?? "";
    await removeClient(kiosk);
    await nextSecond();
    const again = await registerKiosk(kiosk);

    expect(await userinfo(tokens.access_token)).toBe(401);
    const introspected = await postForm("/introspect", { token: refreshToken }, basic(kiosk, SECRET));
    expect(await introspected.json()).toEqual({ active: false });
    expect(await refresh(kiosk, refreshToken)).toBe(400);

    const subject = await registerUser({ username: `rm-${crypto.randomUUID().slice(0, 8)}`, password: "x-password" });
    const fresh = await issueUserTokens(
      testContext(),
      again,
      {
        clientId: kiosk,
        subject,
        scopes: ["openid", "email", "offline_access"],
        resources: [],
        authTime: Math.floor(Date.now() / 1000),
        amr: ["pwd"],
        grantId: newGrantId(),
      },
      { grantLinkKept: true },
    );
    expect(await userinfo(fresh.access_token)).toBe(200);
    expect(await refresh(kiosk, fresh.refresh_token ?? "")).toBe(200);
  });

  it("client add --replace (and the dev seed) update the client in place: its registration time and its tokens stay", async () => {
    const { kiosk, tokens } = await cibaTokens(["email", "offline_access"]);
    await nextSecond();
    const replaced = await clientRow(
      { ...kioskRegistration(kiosk), client_name: "Replaced kiosk" },
      env.DATA_ENCRYPTION_KEY,
    );
    await adminRuns([clientUpsertStatement(replaced)]);
    const row = await env.DB.prepare("SELECT client_name, created_at FROM clients WHERE client_id = ?")
      .bind(kiosk)
      .first<{ client_name: string; created_at: number }>();
    expect(row?.client_name).toBe("Replaced kiosk");
    expect(row?.created_at).toBeLessThan(replaced.created_at);
    expect(await userinfo(tokens.access_token)).toBe(200);
    expect(await refresh(kiosk, tokens.refresh_token ?? "")).toBe(200);
  });
});
