/**
 * What the benchmark drives, written once and run against every target that serves it. The
 * paths are edge-op's; the peer is configured with the same routes (bench/peer/server.ts).
 *
 * To add a scenario (e.g. a new grant): write its flow here, give it an id and its endpoint
 * labels, and list it in SCENARIOS. A scenario whose `available` probe fails on a target is
 * reported as pending for that target instead of failing the run.
 */
import { basicAuth, FORM_HEADERS, form, type HttpClient, type HttpRequest } from "./http";
import type { Flow, FlowIO, FlowLike } from "./load";

export const CIBA_GRANT = "urn:openid:params:grant-type:ciba";

/** Wait between the pending poll and the final one: the bench client's interval (1 s) plus a margin. */
export const CIBA_POLL_WAIT_MS = 1_020;

/** The PKCE challenge of the verifier "dBjftJeZ4CVP-mJ0E7ckLvRLU6uRs-Gi9Vtqs3uR-rk" (RFC 7636 style). */
const CODE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

export interface BenchClient {
  id: string;
  secret: string;
}

export interface ScenarioContext {
  baseUrl: URL;
  /** The CIBA client with a 1 s polling interval, also used for client_credentials. */
  cibaClient: BenchClient;
  /** The client of the PAR scenario (authorization code) and its redirect URI. */
  webClient: BenchClient & { redirectUri: string };
  /** The user who approves: login_hint and subject. */
  user: { loginHint: string; subject: string };
  cibaScope: string;
  /** requested_expiry for CIBA requests (the counting pass shortens it to see the expiry clean-up). */
  cibaRequestedExpiry?: number;
}

function cibaRequest(ctx: ScenarioContext, bindingMessage: string): Record<string, string> {
  return {
    scope: ctx.cibaScope,
    login_hint: ctx.user.loginHint,
    binding_message: bindingMessage,
    ...(ctx.cibaRequestedExpiry ? { requested_expiry: String(ctx.cibaRequestedExpiry) } : {}),
  };
}

export type ScenarioId = "ciba" | "par" | "client_credentials" | "floor" | "hello";

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
  const started = await io.request("bc-authorize", post(ctx, "/bc-authorize", auth, cibaRequest(ctx, `B-${index}`)), {
    status: 200,
    has: ["auth_req_id"],
  });
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
        subject: ctx.user.subject,
        scopes: ctx.cibaScope.split(" "),
      }),
    },
    { status: 200 },
  );
  yield CIBA_POLL_WAIT_MS;
  await io.request("token (tokens)", poll, { status: 200, has: ["access_token", "id_token"] });
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

async function floorFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Promise<void> {
  await io.request(
    "floor (route + DO RPC + KV write)",
    { method: "POST", url: new URL("/floor", ctx.baseUrl) },
    {
      status: 200,
    },
  );
}

async function helloFlow(ctx: ScenarioContext, _index: number, io: FlowIO): Promise<void> {
  await io.request("hello (bare route)", { method: "GET", url: new URL("/hello", ctx.baseUrl) }, { status: 200 });
}

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  ciba: {
    id: "ciba",
    title: "CIBA poll flow",
    unit: "flow",
    endpoints: ["bc-authorize", "token (pending)", "complete", "token (tokens)"],
    requestsPerFlow: 4,
    flow: cibaFlow,
  },
  par: {
    id: "par",
    title: "PAR push + resolution at /authorize",
    unit: "flow",
    endpoints: ["par", "authorize"],
    requestsPerFlow: 2,
    flow: parFlow,
    async available(ctx, client) {
      // Both endpoints must exist: a push that is answered (201 or an OAuth error, not 404) and
      // an /authorize route.
      const pushed = await client.send(parPush(ctx, 0));
      if (pushed.status === 404 || pushed.status === 405) return false;
      const authorize = await client.send({ method: "GET", url: new URL("/authorize", ctx.baseUrl) });
      return authorize.status !== 404 && pushed.status === 201;
    },
  },
  client_credentials: {
    id: "client_credentials",
    title: "client_credentials token request",
    unit: "request",
    endpoints: ["token (client_credentials)"],
    requestsPerFlow: 1,
    flow: clientCredentialsFlow,
  },
  floor: {
    id: "floor",
    title: "Platform floor: Hono route + 1 DO RPC + 1 KV write",
    unit: "request",
    endpoints: ["floor (route + DO RPC + KV write)"],
    requestsPerFlow: 1,
    flow: floorFlow,
  },
  hello: {
    id: "hello",
    title: "Platform floor: bare Hono route",
    unit: "request",
    endpoints: ["hello (bare route)"],
    requestsPerFlow: 1,
    flow: helloFlow,
  },
};

/** CIBA in phases (all flows' first step, then all second steps…), to attribute CPU to each endpoint. */
export interface CibaPhase {
  label: string;
  run(ctx: ScenarioContext, authReqId: string, io: FlowIO): Promise<void>;
}

export const CIBA_PHASES: readonly CibaPhase[] = [
  {
    label: "token (pending)",
    async run(ctx, authReqId, io) {
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
    async run(ctx, authReqId, io) {
      await io.request(
        "complete",
        {
          method: "POST",
          url: new URL("/__bench/ciba/complete", ctx.baseUrl),
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ auth_req_id: authReqId, subject: ctx.user.subject, scopes: ctx.cibaScope.split(" ") }),
        },
        { status: 200 },
      );
    },
  },
  {
    label: "token (tokens)",
    async run(ctx, authReqId, io) {
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

/** The first phase: starts a request and hands its auth_req_id to the later phases. */
export async function cibaStart(ctx: ScenarioContext, index: number, io: FlowIO): Promise<string> {
  const response = await io.request(
    "bc-authorize",
    post(ctx, "/bc-authorize", basicAuth(ctx.cibaClient.id, ctx.cibaClient.secret), cibaRequest(ctx, `P-${index}`)),
    { status: 200, has: ["auth_req_id"] },
  );
  return json(response.body).auth_req_id as string;
}
