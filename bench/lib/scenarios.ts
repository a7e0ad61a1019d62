/**
 * What the benchmark drives, written once and run against every target that serves it. The
 * paths are edge-op's; the peer is configured with the same routes (bench/peer/server.ts). The
 * floor target (bench/floor/worker.ts) runs each scenario's `floorFlow`: the same requests with
 * the same endpoint labels, doing only the platform operations the scenario needs.
 *
 * To add a scenario (e.g. a new grant): write its flow (and its floor flow) here, give it an id
 * and its endpoint labels, and list it in SCENARIOS. A scenario whose `available` probe fails on
 * a target is reported as pending for that target instead of failing the run.
 */
import { createHash } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { basicAuth, FORM_HEADERS, form, type HttpClient, type HttpRequest, locationOf } from "./http";
import { type Flow, FlowError, type FlowIO, type FlowLike } from "./load";

export const CIBA_GRANT = "urn:openid:params:grant-type:ciba";

/** Wait between the pending poll and the final one: the bench client's interval (1 s) plus a margin. */
export const CIBA_POLL_WAIT_MS = 1_020;

/** A PKCE verifier and its S256 challenge, BASE64URL(SHA256(verifier)) (RFC 7636 §4.2). */
const CODE_VERIFIER = "dBjftJeZ4CVP-mJ0E7ckLvRLU6uRs-Gi9Vtqs3uR-rk";
export const CODE_CHALLENGE = "71bIAc0KnXu_Cp5f9-EyXrWKi-2jMeFw6iaR9rrRz_I";

export interface BenchClient {
  id: string;
  secret: string;
}

export interface ScenarioContext {
  baseUrl: URL;
  /** The CIBA client with a 1 s polling interval, also used for client_credentials. */
  cibaClient: BenchClient;
  /** The client of the PAR and code-flow scenarios (authorization code) and its redirect URI. */
  webClient: BenchClient & { redirectUri: string };
  /** The code flow's signed-in user: login_hint, subject and the password the sign-in set-up uses. */
  user: { loginHint: string; subject: string; password: string };
  /** The users CIBA requests are for: flow i asks user i mod n (login_hint, and the subject who approves). */
  cibaUsers: readonly { loginHint: string; subject: string }[];
  cibaScope: string;
  /** requested_expiry for CIBA requests (the counting pass shortens it to see the expiry clean-up). */
  cibaRequestedExpiry?: number;
  /**
   * Signed-in browsers for the code flow: each a Cookie header (filled by the run's set-up, one
   * sign-in per concurrent flow); flow i uses session i mod n.
   */
  sessions: string[];
}

/** The user flow `index` asks. */
export function cibaUser(ctx: ScenarioContext, index: number): { loginHint: string; subject: string } {
  const user = ctx.cibaUsers[index % Math.max(1, ctx.cibaUsers.length)];
  if (!user) throw new FlowError("no CIBA users", "the context has no users for CIBA requests");
  return user;
}

function cibaRequest(ctx: ScenarioContext, index: number, bindingMessage: string): Record<string, string> {
  return {
    scope: ctx.cibaScope,
    login_hint: cibaUser(ctx, index).loginHint,
    binding_message: bindingMessage,
    ...(ctx.cibaRequestedExpiry ? { requested_expiry: String(ctx.cibaRequestedExpiry) } : {}),
  };
}

export type ScenarioId = "ciba" | "par" | "code" | "client_credentials" | "dpop_code" | "dpop_client_credentials";

export const SCENARIO_ORDER: readonly ScenarioId[] = [
  "ciba",
  "code",
  "dpop_code",
  "par",
  "client_credentials",
  "dpop_client_credentials",
];

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** What one flow is, for the tables ("flow" or "request"). */
  unit: "flow" | "request";
  /** Endpoint labels, in the order a flow calls them. */
  endpoints: readonly string[];
  /** HTTP requests per flow that a production deployment would bill (the bench completion counts: it stands for the user's approval). */
  requestsPerFlow: number;
  flow(ctx: ScenarioContext, index: number, io: FlowIO): FlowLike;
  /** The same flow against the floor Worker: only the platform operations it needs. */
  floorFlow(ctx: ScenarioContext, index: number, io: FlowIO): FlowLike;
  /** What the floor flow does, for the report. */
  floorDoes: string;
  /** Whether a target serves this scenario at all (e.g. PAR before it lands). */
  available?(ctx: ScenarioContext, client: HttpClient): Promise<boolean>;
}

function post(ctx: ScenarioContext, path: string, authorization: string, params: Record<string, string>): HttpRequest {
  return {
    method: "POST",
    url: new URL(path, ctx.baseUrl),
    headers: { ...FORM_HEADERS, authorization },
    body: form(params),
  };
}

function json(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

async function* cibaFlow(ctx: ScenarioContext, index: number, io: FlowIO): Flow {
  const auth = basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret);
  const started = await io.request(
    "bc-authorize",
    post(ctx, "/bc-authorize", auth, cibaRequest(ctx, index, `B-${index}`)),
    {
      status: 200,
      has: ["auth_req_id"],
    },
  );
  const authReqId = json(started.body).auth_req_id as string;
  const poll = post(ctx, "/token", auth, { grant_type: CIBA_GRANT, auth_req_id: authReqId });
  await io.request("token (pending)", poll, { status: 400, error: "authorization_pending" });
  await io.request(
    "complete",
    {
      method: "POST",
      url: new URL("/__bench/ciba/complete", ctx.baseUrl),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        auth_req_id: authReqId,
        subject: cibaUser(ctx, index).subject,
        scopes: ctx.cibaScope.split(" "),
      }),
    },
    { status: 200 },
  );
  yield CIBA_POLL_WAIT_MS;
  await io.request("token (tokens)", poll, { status: 200, has: ["access_token", "id_token"] });
}

// ------------------------------------------------------------------ DPoP (RFC 9449)

interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

/** One ES256 key for every DPoP flow of a run: a client keeps its key, it does not make one per request. */
let dpopKey: Promise<DpopKey> | undefined;
function benchDpopKey(): Promise<DpopKey> {
  dpopKey ??= generateKeyPair("ES256").then(async (pair) => ({
    privateKey: pair.privateKey,
    jwk: await exportJWK(pair.publicKey),
  }));
  return dpopKey;
}

/**
 * Each target's issuer origin, from its discovery document, by base URL (read once, outside the
 * measurement): a proof's `htu` names the endpoint as the server publishes it (RFC 9449 §4.3
 * (9)), which for edge-op in the bench is its ISSUER, not the loopback URL the bench uses.
 */
const issuerOrigins = new Map<string, Promise<string>>();

function issuerOrigin(ctx: ScenarioContext): Promise<string> {
  const key = ctx.baseUrl.href;
  let origin = issuerOrigins.get(key);
  if (origin === undefined) {
    origin = fetch(new URL("/.well-known/openid-configuration", ctx.baseUrl))
      .then((response) => (response.ok ? response.json() : undefined))
      .then((metadata: unknown) => {
        const issuer = typeof metadata === "object" && metadata !== null ? Reflect.get(metadata, "issuer") : undefined;
        return typeof issuer === "string" ? new URL(issuer).origin : ctx.baseUrl.origin;
      })
      .catch(() => ctx.baseUrl.origin);
    issuerOrigins.set(key, origin);
  }
  return origin;
}

async function publishedUrl(ctx: ScenarioContext, url: URL): Promise<string> {
  return `${await issuerOrigin(ctx)}${url.pathname}`;
}

/** RFC 9449 §4.2: a fresh proof for this method and URL (with `ath` for an access token). */
async function dpopProof(htu: string, method: string, accessToken?: string): Promise<string> {
  const key = await benchDpopKey();
  const claims: Record<string, string | number> = {
    jti: crypto.randomUUID(),
    htm: method,
    htu,
    iat: Math.floor(Date.now() / 1000),
  };
  if (accessToken !== undefined) claims.ath = createHash("sha256").update(accessToken).digest("base64url");
  return new SignJWT(claims).setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: key.jwk }).sign(key.privateKey);
}

async function withDpop(ctx: ScenarioContext, request: HttpRequest): Promise<HttpRequest> {
  const dpop = await dpopProof(await publishedUrl(ctx, request.url), request.method);
  return { ...request, headers: { ...request.headers, dpop } };
}

/** client_credentials with a DPoP proof: the token endpoint checks it (and fences its jti) before minting. */
async function dpopClientCredentialsFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Promise<void> {
  const request = post(ctx, "/token", basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret), {
    grant_type: "client_credentials",
  });
  await io.request("token (client_credentials, DPoP)", await withDpop(ctx, request), {
    status: 200,
    has: ["access_token"],
  });
}

/** The code flow with DPoP: a proof at /par (binding the code), at /token, and at /userinfo (with ath). */
async function dpopCodeFlow(ctx: ScenarioContext, index: number, io: FlowIO): Promise<void> {
  const pushed = await io.request("par", await withDpop(ctx, parPush(ctx, index)), {
    status: 201,
    has: ["request_uri"],
  });
  const authorize = new URL("/authorize", ctx.baseUrl);
  authorize.search = form({ client_id: ctx.webClient.id, request_uri: json(pushed.body).request_uri as string });
  const answer = await io.request(
    "authorize",
    { method: "GET", url: authorize, headers: { cookie: sessionFor(ctx, index) } },
    { status: [302, 303] },
  );
  const tokenRequest = post(ctx, "/token", basicAuth(ctx.webClient.id, ctx.webClient.secret), {
    grant_type: "authorization_code",
    code: codeFrom(ctx, locationOf(answer)),
    redirect_uri: ctx.webClient.redirectUri,
    code_verifier: CODE_VERIFIER,
  });
  const tokens = await io.request("token (code, DPoP)", await withDpop(ctx, tokenRequest), {
    status: 200,
    has: ["access_token", "id_token"],
  });
  const accessToken = json(tokens.body).access_token as string;
  const userinfo = new URL("/userinfo", ctx.baseUrl);
  await io.request(
    "userinfo (DPoP)",
    {
      method: "GET",
      url: userinfo,
      headers: {
        authorization: `DPoP ${accessToken}`,
        dpop: await dpopProof(await publishedUrl(ctx, userinfo), "GET", accessToken),
      },
    },
    { status: 200, has: ["sub"] },
  );
}

/** A target serves DPoP when a client_credentials request with a proof gets a DPoP token. */
async function dpopAvailable(ctx: ScenarioContext, client: HttpClient): Promise<boolean> {
  const request = post(ctx, "/token", basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret), {
    grant_type: "client_credentials",
  });
  const response = await client.send(await withDpop(ctx, request));
  return response.status === 200 && json(response.body).token_type === "DPoP";
}

async function clientCredentialsFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Promise<void> {
  await io.request(
    "token (client_credentials)",
    post(ctx, "/token", basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret), { grant_type: "client_credentials" }),
    { status: 200, has: ["access_token"] },
  );
}

function parPush(ctx: ScenarioContext, index: number): HttpRequest {
  return post(ctx, "/par", basicAuth(ctx.webClient.id, ctx.webClient.secret), {
    response_type: "code",
    client_id: ctx.webClient.id,
    redirect_uri: ctx.webClient.redirectUri,
    scope: "openid profile",
    state: `state-${index}`,
    code_challenge: CODE_CHALLENGE,
    code_challenge_method: "S256",
  });
}

async function parFlow(ctx: ScenarioContext, index: number, io: FlowIO): Promise<void> {
  const pushed = await io.request("par", parPush(ctx, index), { status: 201, has: ["request_uri"] });
  const requestUri = json(pushed.body).request_uri as string;
  const authorize = new URL("/authorize", ctx.baseUrl);
  authorize.search = form({ client_id: ctx.webClient.id, request_uri: requestUri });
  // Without a signed-in user the request resolves to the sign-in / interaction step: a redirect or a page.
  await io.request("authorize", { method: "GET", url: authorize }, { status: [200, 302, 303] });
}

/** The code a redirect to the client carries, or a flow error naming what came instead. */
function codeFrom(ctx: ScenarioContext, location: string): string {
  const url = new URL(location, ctx.baseUrl);
  const code = url.searchParams.get("code");
  if (!url.href.startsWith(ctx.webClient.redirectUri) || !code) {
    throw new FlowError(`authorize: no code (${url.pathname})`, `authorize: redirected to ${location.slice(0, 200)}`);
  }
  return code;
}

function sessionFor(ctx: ScenarioContext, index: number): string {
  const session = ctx.sessions[index % Math.max(1, ctx.sessions.length)];
  if (session === undefined) throw new FlowError("no signed-in session", "the run's set-up signed no one in");
  return session;
}

/**
 * The authorization code flow of a signed-in user who already consented: PAR → /authorize
 * (answered with the redirect carrying the code) → the code exchanged at /token with PKCE →
 * /userinfo with the access token.
 */
async function codeFlow(ctx: ScenarioContext, index: number, io: FlowIO): Promise<void> {
  const pushed = await io.request("par", parPush(ctx, index), { status: 201, has: ["request_uri"] });
  const authorize = new URL("/authorize", ctx.baseUrl);
  authorize.search = form({ client_id: ctx.webClient.id, request_uri: json(pushed.body).request_uri as string });
  const answer = await io.request(
    "authorize",
    { method: "GET", url: authorize, headers: { cookie: sessionFor(ctx, index) } },
    { status: [302, 303] },
  );
  const code = codeFrom(ctx, locationOf(answer));
  const tokens = await io.request(
    "token (code)",
    post(ctx, "/token", basicAuth(ctx.webClient.id, ctx.webClient.secret), {
      grant_type: "authorization_code",
      code,
      redirect_uri: ctx.webClient.redirectUri,
      code_verifier: CODE_VERIFIER,
    }),
    { status: 200, has: ["access_token", "id_token"] },
  );
  await io.request(
    "userinfo",
    {
      method: "GET",
      url: new URL("/userinfo", ctx.baseUrl),
      headers: { authorization: `Bearer ${json(tokens.body).access_token as string}` },
    },
    { status: 200, has: ["sub"] },
  );
}

// ------------------------------------------------------------------ the floor's flows

function floorPost(ctx: ScenarioContext, path: string, id: string): HttpRequest {
  return { method: "POST", url: new URL(path, ctx.baseUrl), headers: { ...FORM_HEADERS }, body: form({ id }) };
}

async function* cibaFloorFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Flow {
  const started = await io.request("bc-authorize", floorPost(ctx, "/floor/ciba/start", ""), {
    status: 200,
    has: ["auth_req_id"],
  });
  const id = json(started.body).auth_req_id as string;
  await io.request("token (pending)", floorPost(ctx, "/floor/ciba/poll", id), {
    status: 400,
    error: "authorization_pending",
  });
  await io.request("complete", floorPost(ctx, "/floor/ciba/approve", id), { status: 200 });
  yield CIBA_POLL_WAIT_MS;
  await io.request("token (tokens)", floorPost(ctx, "/floor/ciba/token", id), {
    status: 200,
    has: ["access_token", "id_token"],
  });
}

async function parFloorFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Promise<void> {
  const pushed = await io.request("par", floorPost(ctx, "/floor/par/push", ""), { status: 201, has: ["request_uri"] });
  const authorize = new URL("/floor/par/authorize", ctx.baseUrl);
  authorize.search = form({ id: json(pushed.body).request_uri as string });
  await io.request("authorize", { method: "GET", url: authorize }, { status: 303 });
}

async function codeFloorFlow(ctx: ScenarioContext, index: number, io: FlowIO): Promise<void> {
  const pushed = await io.request("par", floorPost(ctx, "/floor/code/par", ""), { status: 201, has: ["request_uri"] });
  const authorize = new URL("/floor/code/authorize", ctx.baseUrl);
  authorize.search = form({ id: json(pushed.body).request_uri as string });
  const answer = await io.request(
    "authorize",
    { method: "GET", url: authorize, headers: { cookie: sessionFor(ctx, index) } },
    { status: 303 },
  );
  const code = codeFrom(ctx, locationOf(answer));
  const tokens = await io.request("token (code)", floorPost(ctx, "/floor/code/token", code), {
    status: 200,
    has: ["access_token", "id_token"],
  });
  await io.request(
    "userinfo",
    {
      method: "GET",
      url: new URL("/floor/code/userinfo", ctx.baseUrl),
      headers: { authorization: `Bearer ${json(tokens.body).access_token as string}` },
    },
    { status: 200, has: ["sub"] },
  );
}

async function clientCredentialsFloorFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Promise<void> {
  await io.request(
    "token (client_credentials)",
    { method: "GET", url: new URL("/hello", ctx.baseUrl) },
    { status: 200 },
  );
}

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  ciba: {
    id: "ciba",
    title: "CIBA poll flow",
    unit: "flow",
    endpoints: ["bc-authorize", "token (pending)", "complete", "token (tokens)"],
    requestsPerFlow: 4,
    flow: cibaFlow,
    floorFlow: cibaFloorFlow,
    floorDoes:
      "4 requests; 4 RPCs to one new object, written through the synchronous KV API (no CREATE TABLE): create (1 row + setAlarm), poll (a read), approve (1 row), tokens (deleteAll, which removes the row and the alarm); no D1: 3 billed rows written and a deleteAll",
  },
  code: {
    id: "code",
    title: "Authorization code flow: PAR → /authorize with a session → token → userinfo",
    unit: "flow",
    endpoints: ["par", "authorize", "token (code)", "userinfo"],
    requestsPerFlow: 4,
    flow: codeFlow,
    floorFlow: codeFloorFlow,
    floorDoes:
      "4 requests; 3 RPCs to one new object: push (1 row + setAlarm), authorize (the session read from D1, then one RPC that spends the request and stores the code in its place: 1 row), token (deleteAll); userinfo reads the user from D1: 3 billed rows written, a deleteAll, 2 D1 reads",
    available: (ctx, client) => parAvailable(ctx, client),
  },
  par: {
    id: "par",
    title: "PAR push + resolution at /authorize (no session)",
    unit: "flow",
    endpoints: ["par", "authorize"],
    requestsPerFlow: 2,
    flow: parFlow,
    floorFlow: parFloorFlow,
    floorDoes:
      "2 requests; 2 RPCs to one new object: push (1 row + setAlarm for its expiry), authorize (a read): 2 billed rows written",
    available: (ctx, client) => parAvailable(ctx, client),
  },
  client_credentials: {
    id: "client_credentials",
    title: "client_credentials token request",
    unit: "request",
    endpoints: ["token (client_credentials)"],
    requestsPerFlow: 1,
    flow: clientCredentialsFlow,
    floorFlow: clientCredentialsFloorFlow,
    floorDoes: "1 request (a bare Hono route); no storage",
  },
  dpop_code: {
    id: "dpop_code",
    title: "Authorization code flow with DPoP: PAR (proof) → /authorize → token (proof) → userinfo (DPoP)",
    unit: "flow",
    endpoints: ["par", "authorize", "token (code, DPoP)", "userinfo (DPoP)"],
    requestsPerFlow: 4,
    flow: dpopCodeFlow,
    floorFlow: codeFloorFlow,
    floorDoes: "as the code flow's floor: the platform cost of a proof check is one ReplayGuard RPC per proof",
    available: async (ctx, client) => (await parAvailable(ctx, client)) && (await dpopAvailable(ctx, client)),
  },
  dpop_client_credentials: {
    id: "dpop_client_credentials",
    title: "client_credentials token request with a DPoP proof",
    unit: "request",
    endpoints: ["token (client_credentials, DPoP)"],
    requestsPerFlow: 1,
    flow: dpopClientCredentialsFlow,
    floorFlow: clientCredentialsFloorFlow,
    floorDoes: "as client_credentials' floor: 1 request (a bare Hono route); no storage",
    available: (ctx, client) => dpopAvailable(ctx, client),
  },
};

/** Both endpoints must exist: a push answered 201 (not 404/405) and an /authorize route. */
async function parAvailable(ctx: ScenarioContext, client: HttpClient): Promise<boolean> {
  const pushed = await client.send(parPush(ctx, 0));
  if (pushed.status !== 201) return false;
  const authorize = await client.send({ method: "GET", url: new URL("/authorize", ctx.baseUrl) });
  return authorize.status !== 404;
}

/** CIBA in phases (all flows' first step, then all second steps…), to attribute CPU to each endpoint. */
export interface CibaPhase {
  label: string;
  run(ctx: ScenarioContext, started: StartedCiba, io: FlowIO): Promise<void>;
}

export const CIBA_PHASES: readonly CibaPhase[] = [
  {
    label: "token (pending)",
    async run(ctx, { authReqId }, io) {
      const auth = basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret);
      await io.request(
        "token (pending)",
        post(ctx, "/token", auth, { grant_type: CIBA_GRANT, auth_req_id: authReqId }),
        {
          status: 400,
          error: "authorization_pending",
        },
      );
    },
  },
  {
    label: "complete",
    async run(ctx, { authReqId, subject }, io) {
      await io.request(
        "complete",
        {
          method: "POST",
          url: new URL("/__bench/ciba/complete", ctx.baseUrl),
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ auth_req_id: authReqId, subject, scopes: ctx.cibaScope.split(" ") }),
        },
        { status: 200 },
      );
    },
  },
  {
    label: "token (tokens)",
    async run(ctx, { authReqId }, io) {
      const auth = basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret);
      await io.request(
        "token (tokens)",
        post(ctx, "/token", auth, { grant_type: CIBA_GRANT, auth_req_id: authReqId }),
        {
          status: 200,
          has: ["access_token", "id_token"],
        },
      );
    },
  },
];

/** A started CIBA request: its auth_req_id and the user who approves it. */
export interface StartedCiba {
  authReqId: string;
  subject: string;
}

/** The first phase: starts a request and hands it to the later phases. */
export async function cibaStart(ctx: ScenarioContext, index: number, io: FlowIO): Promise<StartedCiba> {
  const response = await io.request(
    "bc-authorize",
    post(
      ctx,
      "/bc-authorize",
      basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret),
      cibaRequest(ctx, index, `P-${index}`),
    ),
    { status: 200, has: ["auth_req_id"] },
  );
  return { authReqId: json(response.body).auth_req_id as string, subject: cibaUser(ctx, index).subject };
}
