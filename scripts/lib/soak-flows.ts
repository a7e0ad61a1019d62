/**
 * The flows the soak (scripts/soak.ts) runs, each as a client and a user would: over HTTP, the
 * user approving on the request's page, through the authenticator API with the session cookie or
 * with a Bearer token, and consenting on /authorize. A flow ends in one of two ways the soak
 * accepts: "completed" (it got what it asked for, once) or the one error it was meant to meet
 * (a denial, an expiry). Anything else throws, and the soak counts it as unexpected.
 *
 * Every one-time handle a flow spends (auth_req_id, request_uri, code, a rotated-away refresh
 * token) is put in `spent`, so the soak can present each again at the end and expect a refusal.
 */
import {
  type Answer,
  type Browser,
  consentAndCode,
  expectAnswer,
  field,
  jsonOf,
  type OAuthClient,
  send,
  UnexpectedAnswer,
} from "./edge-client.ts";
import { waitForNotice } from "./flow-clients.ts";
import type { LoopbackReceiver, ReceivedRequest } from "./loopback-receiver.ts";

export type FlowName =
  | "ciba-poll"
  | "ciba-poll-deny"
  | "ciba-ping"
  | "ciba-push"
  | "ciba-push-deny"
  | "ciba-expire"
  | "code"
  | "client_credentials";

/** How often each flow is started, relative to the others. */
export const FLOW_WEIGHTS: Record<FlowName, number> = {
  "ciba-poll": 5,
  "ciba-poll-deny": 1,
  "ciba-ping": 3,
  "ciba-push": 3,
  "ciba-push-deny": 1,
  "ciba-expire": 1,
  code: 6,
  client_credentials: 4,
};

/**
 * Durable Objects a flow creates when it goes as planned: a backchannel request each CIBA flow, a
 * refresh-token family where offline_access is granted (ciba-poll and code), an authorization
 * code. ReplayGuard and the user_code counters are one per client or user, made once. The soak
 * uses it to tell what the runtime retains per object from what edge-op would leak.
 */
export const OBJECTS_PER_FLOW: Record<FlowName, number> = {
  "ciba-poll": 2,
  "ciba-poll-deny": 1,
  "ciba-ping": 1,
  "ciba-push": 1,
  "ciba-push-deny": 1,
  "ciba-expire": 1,
  code: 2,
  client_credentials: 0,
};

/** What a flow ended with: completed, or the error it was meant to meet. */
export type FlowEnd = { completed: true } | { completed: false; expectedError: string };

export interface SpentHandles {
  authReqIds: { client: OAuthClient; value: string }[];
  codes: { client: OAuthClient; value: string }[];
  refreshTokens: { client: OAuthClient; value: string }[];
  requestUris: { client: OAuthClient; value: string }[];
}

/** A user the soak signed in once, with an authenticator token (renewed when refused). */
export interface SoakUser {
  username: string;
  browser: Browser;
  bearer(): Promise<string>;
  renewBearer(): Promise<string>;
}

export interface SoakContext {
  base: () => URL;
  receiver: LoopbackReceiver;
  clients: { poll: OAuthClient; ping: OAuthClient; push: OAuthClient; web: OAuthClient };
  redirectUri: string;
  /** The user flow number `n` is for. */
  user(n: number): SoakUser;
  spent: SpentHandles;
  /** The CIBA clients' polling interval, in ms. */
  intervalMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The deliveries to a ping or push endpoint naming `authReqId`. */
function deliveries(receiver: LoopbackReceiver, path: string, authReqId: string): ReceivedRequest[] {
  return receiver
    .received(path)
    .filter((r) => jsonOf({ status: 200, headers: new Headers(), body: r.body }).auth_req_id === authReqId);
}

async function startCiba(
  ctx: SoakContext,
  client: OAuthClient,
  n: number,
  extra: Record<string, string> = {},
): Promise<{ authReqId: string; internalId: string; user: SoakUser }> {
  const user = ctx.user(n);
  const message = `Soak ${n}`;
  const since = Date.now();
  const started = expectAnswer(
    await client.backchannel({
      scope: "openid profile offline_access",
      login_hint: user.username,
      binding_message: message,
      ...extra,
    }),
    200,
  );
  const notice = await waitForNotice(ctx.receiver, message, since);
  return { authReqId: field(started, "auth_req_id"), internalId: notice.internal_id, user };
}

/** The user's answer through the authenticator API, as the phone app sends it. */
async function answerByApi(
  ctx: SoakContext,
  user: SoakUser,
  internalId: string,
  action: "approve" | "deny",
  via: "bearer" | "cookie",
): Promise<Answer> {
  const body = JSON.stringify(action === "approve" ? { scopes: ["profile"] } : {});
  const path = `/api/ciba/requests/${internalId}/${action}`;
  const headers = { "content-type": "application/json" };
  if (via === "cookie") return user.browser.send(path, { method: "POST", headers, body });
  const post = async (token: string) =>
    send(
      ctx.base,
      path,
      { method: "POST", headers: { ...headers, authorization: `Bearer ${token}` }, body },
      user.browser.observe,
    );
  const answer = await post(await user.bearer());
  return answer.status === 401 ? post(await user.renewBearer()) : answer;
}

async function cibaPoll(ctx: SoakContext, n: number, deny: boolean): Promise<FlowEnd> {
  const kiosk = ctx.clients.poll;
  const { authReqId, internalId, user } = await startCiba(ctx, kiosk, n);
  expectAnswer(await kiosk.pollCiba(authReqId), 400, "authorization_pending");
  const answered = await user.browser.answerCiba(internalId, deny ? "deny" : "approve", ["profile", "offline_access"]);
  expectAnswer(answered, 200);
  await sleep(ctx.intervalMs);
  if (deny) {
    expectAnswer(await kiosk.pollCiba(authReqId), 400, "access_denied");
    return { completed: false, expectedError: "access_denied" };
  }
  const tokens = expectAnswer(await kiosk.pollCiba(authReqId), 200);
  ctx.spent.authReqIds.push({ client: kiosk, value: authReqId });
  // Refresh once: the token it rotates away is spent.
  const refreshToken = field(tokens, "refresh_token");
  const rotated = expectAnswer(await kiosk.refresh(refreshToken), 200);
  field(rotated, "refresh_token");
  ctx.spent.refreshTokens.push({ client: kiosk, value: refreshToken });
  return { completed: true };
}

async function cibaPing(ctx: SoakContext, n: number): Promise<FlowEnd> {
  const kiosk = ctx.clients.ping;
  const token = `ping-${n}`;
  const { authReqId, internalId, user } = await startCiba(ctx, kiosk, n, { client_notification_token: token });
  expectAnswer(await answerByApi(ctx, user, internalId, "approve", "cookie"), 200);
  await ctx.receiver.waitUntil(
    () => deliveries(ctx.receiver, "/ping", authReqId).length > 0,
    15_000,
    `the ping for flow ${n}`,
  );
  const ping = deliveries(ctx.receiver, "/ping", authReqId)[0];
  if (ping?.headers.authorization !== `Bearer ${token}`) throw new Error(`flow ${n}: the ping carried another token`);
  expectAnswer(await kiosk.pollCiba(authReqId), 200);
  ctx.spent.authReqIds.push({ client: kiosk, value: authReqId });
  return { completed: true };
}

async function cibaPush(ctx: SoakContext, n: number, deny: boolean): Promise<FlowEnd> {
  const kiosk = ctx.clients.push;
  const { authReqId, internalId, user } = await startCiba(ctx, kiosk, n, {
    scope: "openid profile",
    client_notification_token: `push-${n}`,
  });
  expectAnswer(await answerByApi(ctx, user, internalId, deny ? "deny" : "approve", "bearer"), 200);
  await ctx.receiver.waitUntil(
    () => deliveries(ctx.receiver, "/push", authReqId).length > 0,
    15_000,
    `the push for flow ${n}`,
  );
  const pushed = JSON.parse(deliveries(ctx.receiver, "/push", authReqId)[0]?.body ?? "{}") as Record<string, unknown>;
  if (deny) {
    if (pushed.error !== "access_denied") throw new Error(`flow ${n}: pushed ${JSON.stringify(pushed).slice(0, 200)}`);
    return { completed: false, expectedError: "access_denied" };
  }
  if (typeof pushed.access_token !== "string" || typeof pushed.id_token !== "string") {
    throw new Error(`flow ${n}: the push carried no tokens: ${JSON.stringify(pushed).slice(0, 200)}`);
  }
  return { completed: true };
}

async function cibaExpire(ctx: SoakContext, n: number): Promise<FlowEnd> {
  const kiosk = ctx.clients.poll;
  const { authReqId } = await startCiba(ctx, kiosk, n, { requested_expiry: "2" });
  await sleep(2_200);
  expectAnswer(await kiosk.pollCiba(authReqId), 400, "expired_token");
  return { completed: false, expectedError: "expired_token" };
}

/** PAR → /authorize (consent remembered after the first time) → code → tokens → userinfo → refresh. */
async function codeFlow(ctx: SoakContext, n: number): Promise<FlowEnd> {
  const web = ctx.clients.web;
  const user = ctx.user(n);
  const pushed = expectAnswer(
    await web.pushAuthorization(ctx.redirectUri, "openid profile offline_access", `s${n}`),
    201,
  );
  const requestUri = field(pushed, "request_uri");
  const code = await consentAndCode(user.browser, web, requestUri, ctx.redirectUri);
  ctx.spent.requestUris.push({ client: web, value: requestUri });
  const tokens = expectAnswer(await web.exchangeCode(code, ctx.redirectUri), 200);
  ctx.spent.codes.push({ client: web, value: code });
  const userinfo = await send(
    ctx.base,
    "/userinfo",
    { headers: { authorization: `Bearer ${field(tokens, "access_token")}` } },
    user.browser.observe,
  );
  field(expectAnswer(userinfo, 200), "sub");
  const refreshToken = field(tokens, "refresh_token");
  expectAnswer(await web.refresh(refreshToken), 200);
  ctx.spent.refreshTokens.push({ client: web, value: refreshToken });
  return { completed: true };
}

async function clientCredentials(ctx: SoakContext): Promise<FlowEnd> {
  field(expectAnswer(await ctx.clients.poll.clientCredentials(), 200), "access_token");
  return { completed: true };
}

export function runFlow(name: FlowName, ctx: SoakContext, n: number): Promise<FlowEnd> {
  switch (name) {
    case "ciba-poll":
      return cibaPoll(ctx, n, false);
    case "ciba-poll-deny":
      return cibaPoll(ctx, n, true);
    case "ciba-ping":
      return cibaPing(ctx, n);
    case "ciba-push":
      return cibaPush(ctx, n, false);
    case "ciba-push-deny":
      return cibaPush(ctx, n, true);
    case "ciba-expire":
      return cibaExpire(ctx, n);
    case "code":
      return codeFlow(ctx, n);
    case "client_credentials":
      return clientCredentials(ctx);
  }
}

export interface HandleCheck {
  kind: keyof SpentHandles;
  presented: number;
  refused: number;
  /** The first few that were not refused, with the answer. */
  accepted: string[];
}

/**
 * Every spent handle presented again: each must be refused (invalid_grant at /token; the
 * authorization endpoint's error page for a request_uri). A refresh token presented again is
 * reuse, so its family is revoked, which is fine at the end of the run.
 */
export async function presentSpentHandlesAgain(ctx: SoakContext, concurrency = 8): Promise<HandleCheck[]> {
  const checks: HandleCheck[] = [];
  const present: Record<keyof SpentHandles, (h: { client: OAuthClient; value: string }) => Promise<Answer>> = {
    authReqIds: (h) => h.client.pollCiba(h.value),
    codes: (h) => h.client.exchangeCode(h.value, ctx.redirectUri),
    refreshTokens: (h) => h.client.refresh(h.value),
    requestUris: (h) => send(ctx.base, h.client.authorizeUrl(h.value), {}, h.client.observe),
  };
  for (const kind of Object.keys(present) as (keyof SpentHandles)[]) {
    const check: HandleCheck = { kind, presented: 0, refused: 0, accepted: [] };
    const queue = [...ctx.spent[kind]];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let handle = queue.shift(); handle; handle = queue.shift()) {
          const answer = await present[kind](handle);
          check.presented += 1;
          const refused =
            kind === "requestUris"
              ? answer.status === 400 && answer.body.includes("invalid_request_uri")
              : answer.status === 400 && jsonOf(answer).error === "invalid_grant";
          if (refused) check.refused += 1;
          // The status and error code only: an answer that was accepted carries tokens.
          else if (check.accepted.length < 5)
            check.accepted.push(`${answer.status} ${jsonOf(answer).error ?? "(tokens)"}`);
        }
      }),
    );
    checks.push(check);
  }
  return checks;
}

export { UnexpectedAnswer };
