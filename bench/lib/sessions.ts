/**
 * Signed-in browsers for the code-flow scenario, made once per target before the timed runs (one
 * per concurrent flow), so that a timed /authorize finds a live session and remembered consent and
 * answers with the redirect carrying the code, as it does for a returning user.
 *
 * - edge-op: the real sign-in form (GET /signin for the CSRF cookie and field, POST /signin with
 *   the user's password: src/ui/routes.tsx), then, once, the real consent page of /authorize
 *   (approve), which remembers the consent in D1. The Cookie header kept is the session cookie.
 * - oidc-provider: an /authorize request without a session goes to the interaction; the peer's
 *   GET /interaction/:uid finishes it with login and consent (bench/peer/server.ts) and the resumed
 *   /authorize sets the `_session` cookies kept here.
 */
import { basicAuth, CookieJar, FORM_HEADERS, form, HttpClient, type HttpResponse, locationOf } from "./http";
import { CODE_CHALLENGE, type ScenarioContext } from "./scenarios";

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`the page has no csrf field: ${html.slice(0, 200)}`);
  return match[1];
}

function expect(response: HttpResponse, statuses: number[], what: string): HttpResponse {
  if (!statuses.includes(response.status)) {
    throw new Error(`${what}: answered ${response.status} ${response.body.slice(0, 300)}`);
  }
  return response;
}

async function send(
  client: HttpClient,
  jar: CookieJar,
  method: "GET" | "POST",
  url: URL,
  fields?: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  const response = await client.send({
    method,
    url,
    headers: { ...(fields ? FORM_HEADERS : {}), ...headers, ...(jar.size ? { cookie: jar.header } : {}) },
    body: fields ? form(fields) : undefined,
  });
  jar.take(response);
  return response;
}

/** A pushed authorization request of the code-flow client; returns the /authorize URL that uses it. */
async function pushed(ctx: ScenarioContext, client: HttpClient): Promise<URL> {
  const response = await client.send({
    method: "POST",
    url: new URL("/par", ctx.baseUrl),
    headers: { ...FORM_HEADERS, authorization: basicAuth(ctx.webClient.id, ctx.webClient.secret) },
    body: form({
      response_type: "code",
      client_id: ctx.webClient.id,
      redirect_uri: ctx.webClient.redirectUri,
      scope: "openid profile",
      state: "sign-in",
      code_challenge: CODE_CHALLENGE,
      code_challenge_method: "S256",
    }),
  });
  expect(response, [201], "PAR for the sign-in");
  const url = new URL("/authorize", ctx.baseUrl);
  url.search = form({ client_id: ctx.webClient.id, request_uri: JSON.parse(response.body).request_uri as string });
  return url;
}

/** `count` sessions of the context's user on edge-op, with the code-flow client's consent remembered. */
export async function signInEdge(ctx: ScenarioContext, count: number): Promise<string[]> {
  const client = new HttpClient(1);
  try {
    const sessions: string[] = [];
    for (let i = 0; i < count; i++) {
      const jar = new CookieJar();
      const page = expect(
        await send(client, jar, "GET", new URL("/signin?return_to=%2Fciba", ctx.baseUrl)),
        [200],
        "sign-in page",
      );
      expect(
        await send(client, jar, "POST", new URL("/signin", ctx.baseUrl), {
          csrf: csrfOf(page.body),
          username: ctx.user.loginHint,
          password: ctx.user.password,
          return_to: "/ciba",
        }),
        [303],
        "sign-in",
      );
      if (i === 0) await consentOnce(ctx, client, jar);
      jar.retain((name) => name.includes("edge-op-session"));
      if (jar.size !== 1) throw new Error("sign-in set no session cookie");
      sessions.push(jar.header);
    }
    return sessions;
  } finally {
    client.close();
  }
}

/** The consent page of /authorize, approved: remembered for the user and the client from then on. */
async function consentOnce(ctx: ScenarioContext, client: HttpClient, jar: CookieJar): Promise<void> {
  const authorize = await pushed(ctx, client);
  const page = await send(client, jar, "GET", authorize);
  if (page.status === 303 && locationOf(page).startsWith(ctx.webClient.redirectUri)) return; // already remembered
  expect(page, [200], "consent page");
  const decided = await send(client, jar, "POST", authorize, { csrf: csrfOf(page.body), decision: "approve" });
  expect(decided, [302, 303], "consent");
  if (!locationOf(decided).startsWith(ctx.webClient.redirectUri)) {
    throw new Error(`consent redirected to ${locationOf(decided)}`);
  }
}

/** `count` sessions of the context's user on oidc-provider, each with its grant for the code-flow client. */
export async function signInPeer(ctx: ScenarioContext, count: number): Promise<string[]> {
  const client = new HttpClient(1);
  try {
    const sessions: string[] = [];
    for (let i = 0; i < count; i++) {
      const jar = new CookieJar();
      let response = await send(client, jar, "GET", await pushed(ctx, client));
      // /authorize → /interaction/:uid → /authorize/:uid (resume) → the client's redirect URI
      for (let step = 0; step < 3 && !locationOf(response).startsWith(ctx.webClient.redirectUri); step++) {
        expect(response, [302, 303], `sign-in step ${step + 1}`);
        const next = new URL(locationOf(response), ctx.baseUrl);
        response = await send(client, jar, "GET", next, undefined, { "x-bench-subject": ctx.user.subject });
      }
      if (!locationOf(response).startsWith(ctx.webClient.redirectUri)) {
        throw new Error(`peer sign-in ended at ${response.status} ${locationOf(response)}`);
      }
      jar.retain((name) => name.startsWith("_session"));
      if (jar.size === 0) throw new Error("the peer set no session cookie");
      sessions.push(jar.header);
    }
    return sessions;
  } finally {
    client.close();
  }
}
