/**
 * Issue 19, "restart mid-flow": the runtime process is killed (SIGKILL, scripts/lib/local-edge.ts)
 * and started again on its persisted state between every two steps of a flow. Each flow still
 * completes, exactly once: every one-time handle (auth_req_id, request_uri, code, refresh token)
 * presented again after a restart is refused. Alarms that were due while the process was down
 * fire after it comes back: a user notification and a ping whose first attempt failed arrive
 * late, not lost; a push carries the tokens minted before the restart; an expired request is
 * deleted. Everything is observed over HTTP, as a client and the outside world see it, so the
 * tests do not depend on how edge-op lays out its storage.
 *
 * The outside world (the user notification webhook, the ping and push endpoints) is a loopback
 * receiver in this process, told to answer the first attempt with 503 where a retry must be
 * pending when the process dies.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type Answer,
  Browser,
  codeFromRedirect,
  csrfOf,
  expectAnswer,
  field,
  jsonOf,
  OAuthClient,
} from "../../scripts/lib/edge-client.ts";
import { flowClients, localVars, REDIRECT_URI } from "../../scripts/lib/flow-clients.ts";
import { LocalEdge } from "../../scripts/lib/local-edge.ts";
import { LoopbackReceiver, type ReceivedRequest } from "../../scripts/lib/loopback-receiver.ts";

/** Backoff of the first retry (2^1 s, src/ciba/client-delivery.ts and notifications.ts) plus a margin. */
const FIRST_RETRY_MS = 2_000;
const MARGIN_MS = 700;

let edge: LocalEdge;
let receiver: LoopbackReceiver;
let clients: ReturnType<typeof flowClients>;
const base = () => edge.url;
const client = (c: { client_id: string; client_secret: string }) => new OAuthClient(base, c.client_id, c.client_secret);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  receiver = await LoopbackReceiver.start();
  clients = flowClients(receiver.origin);
  edge = await LocalEdge.create({
    script: inject("faultsWorkerScript"),
    // Expired requests are deleted at expiry (no grace), so the clean-up is seen within seconds.
    vars: localVars(receiver.origin, { CIBA_EXPIRED_GRACE: "0" }),
    clients: Object.values(clients),
  });
});

afterAll(async () => {
  await edge?.dispose();
  await receiver?.close();
});

/** Kills the process and starts a new one on the same state; returns when it serves again. */
async function restart(): Promise<number> {
  await edge.restart();
  return Date.now();
}

/** The user notifications (webhook) sent for one request, oldest first. */
function notificationsFor(internalId: string): ReceivedRequest[] {
  return receiver.received("/notify").filter((r) => JSON.parse(r.body).internal_id === internalId);
}

/** The deliveries to a ping or push endpoint that name `authReqId`, oldest first. */
function deliveriesFor(path: string, authReqId: string): ReceivedRequest[] {
  return receiver.received(path).filter((r) => JSON.parse(r.body).auth_req_id === authReqId);
}

/** A request's internal id, from the webhook notice the user got (its approval URL ends with it). */
async function internalIdOf(authReqId: string, before: number): Promise<string> {
  const notices = await receiver.waitUntil(
    () => receiver.received("/notify").some((r) => r.at >= before),
    10_000,
    "the user notification",
    "/notify",
  );
  const notice = notices.find((r) => r.at >= before);
  if (!notice) throw new Error(`no notification for ${authReqId}`);
  return JSON.parse(notice.body).internal_id as string;
}

/**
 * Stops the process, keeps it down until `until` (ms), checks that nothing reached `path`
 * meanwhile, starts it again. Returns when the new process was started (its alarms may fire
 * before it first answers HTTP).
 */
async function downUntil(until: number, path: string): Promise<number> {
  await edge.stop();
  const count = receiver.received(path).length;
  await sleep(Math.max(0, until - Date.now()));
  expect(receiver.received(path).length, `nothing reaches ${path} while the process is down`).toBe(count);
  const startedAt = Date.now();
  await edge.start();
  return startedAt;
}

function tokensOf(answer: Answer): { access_token: string; refresh_token?: string; id_token?: string } {
  expectAnswer(answer, 200);
  return { access_token: field(answer, "access_token"), ...jsonOf(answer) };
}

describe("a CIBA poll flow with a restart between every two steps: request → notify → approve → poll → refresh", () => {
  it("completes once; the notification whose retry was due while the process was down arrives late; every handle is refused the second time", async () => {
    const kiosk = client(clients.poll);
    const phone = new Browser(base);
    await phone.signIn("alice", "alice-password");
    await restart(); // the session outlives the process (D1)

    // request; the user notification's first attempt fails, so its retry is pending.
    receiver.program("/notify", [503, 200]);
    const before = Date.now();
    const started = expectAnswer(
      await kiosk.backchannel({
        scope: "openid profile offline_access",
        login_hint: "alice",
        binding_message: "Till 4",
      }),
      200,
    );
    const authReqId = field(started, "auth_req_id");
    const internalId = await internalIdOf(authReqId, before);
    const [failed] = notificationsFor(internalId);
    expect(failed?.status).toBe(503);

    // The object records the failed attempt, and moves its alarm to the retry, just after the 503
    // arrives: let it, as a process killed in between loses the attempt (a poll-mode request's
    // next poll then sends the notice, src/ciba/request-object.ts guardFirstNotice: not this step).
    await sleep(300);
    // notify: killed before the retry; it is due while the process is down and sent once it is back.
    const back = await downUntil((failed?.at ?? 0) + FIRST_RETRY_MS + MARGIN_MS, "/notify");
    const notices = await receiver.waitUntil(
      () => notificationsFor(internalId).length >= 2,
      10_000,
      "the retried notification",
    );
    const sent = notificationsFor(internalId)[1];
    expect(sent?.status).toBe(200);
    expect(sent?.at).toBeGreaterThanOrEqual(back);
    expect(JSON.parse(sent?.body ?? "{}")).toMatchObject({ subject: expect.any(String), client_id: "local-poll" });
    expect(notices.length).toBeGreaterThanOrEqual(2);
    await sleep(300); // the alarm records the delivery after the answer: let it, or it is sent again
    await restart();

    expectAnswer(await kiosk.pollCiba(authReqId), 400, "authorization_pending");
    await restart();

    // approve, on the request's page, with the session from before all these restarts.
    expectAnswer(await phone.answerCiba(internalId, "approve", ["profile", "offline_access"]), 200);
    await restart();

    // poll: the tokens, once.
    const tokens = tokensOf(await kiosk.pollCiba(authReqId));
    expect(tokens.refresh_token).toBeTruthy();
    await restart();
    expectAnswer(await kiosk.pollCiba(authReqId), 400, "invalid_grant");
    // The token response deleted the used request, so a late answer finds nothing to answer.
    expect((await phone.answerCiba(internalId, "approve", ["profile"])).status).toBe(404);

    // refresh: rotated once; the old token presented again after a restart is reuse.
    const rotated = tokensOf(await kiosk.refresh(tokens.refresh_token ?? ""));
    await restart();
    expectAnswer(await kiosk.refresh(tokens.refresh_token ?? ""), 400, "invalid_grant");
    await restart();
    // Reuse revoked the family (OAuth 2.0 Security BCP §4.14.2), and that outlives a restart too.
    expectAnswer(await kiosk.refresh(rotated.refresh_token ?? ""), 400, "invalid_grant");

    // The user was told exactly once successfully: no restart re-sent the notice.
    expect(notificationsFor(internalId).filter((r) => r.status === 200)).toHaveLength(1);
  });
});

describe("a PAR / authorization code flow with a restart between every two steps: push → authorize → consent → token → refresh", () => {
  it("completes once; request_uri, code and refresh token are each refused the second time", async () => {
    const web = client(clients.web);
    const browser = new Browser(base);
    await browser.signIn("bob", "bob-password");

    const pushed = expectAnswer(await web.pushAuthorization(REDIRECT_URI, "openid profile offline_access", "s1"), 201);
    const authorize = web.authorizeUrl(field(pushed, "request_uri"));
    await restart();

    const consentPage = expectAnswer(await browser.get(authorize), 200);
    await restart();

    const approved = await browser.postForm(authorize, { csrf: csrfOf(consentPage.body), decision: "approve" });
    expect(approved.status).toBe(303);
    const code = codeFromRedirect(approved, REDIRECT_URI);
    expect(new URL(approved.headers.get("location") ?? "").searchParams.get("state")).toBe("s1");
    await restart();

    const tokens = tokensOf(await web.exchangeCode(code, REDIRECT_URI));
    expect(tokens.refresh_token).toBeTruthy();
    await restart();

    const rotated = tokensOf(await web.refresh(tokens.refresh_token ?? ""));
    await restart();

    // Every handle of the flow, presented again after the restarts, is refused.
    expect((await browser.get(authorize)).status).toBe(400); // invalid_request_uri, shown to the user
    expectAnswer(await web.refresh(tokens.refresh_token ?? ""), 400, "invalid_grant");
    expectAnswer(await web.exchangeCode(code, REDIRECT_URI), 400, "invalid_grant");
    // RFC 6749 §4.1.2: the code's reuse revokes what its exchange issued.
    expectAnswer(await web.refresh(rotated.refresh_token ?? ""), 400, "invalid_grant");
  });
});

describe("alarms that were due while the process was down", () => {
  it("ping: the first attempt fails (503), the process dies before the retry; after the restart the ping arrives, late, and the client gets the tokens once", async () => {
    const kiosk = client(clients.ping);
    const phone = new Browser(base);
    await phone.signIn("alice", "alice-password");
    receiver.program("/ping", [503, 200]);
    const before = Date.now();
    const started = expectAnswer(
      await kiosk.backchannel({
        scope: "openid profile",
        login_hint: "alice",
        client_notification_token: "ping-token-1",
      }),
      200,
    );
    const authReqId = field(started, "auth_req_id");
    const internalId = await internalIdOf(authReqId, before);
    expectAnswer(await phone.answerCiba(internalId, "approve", ["profile"]), 200);

    await receiver.waitUntil(() => deliveriesFor("/ping", authReqId).length >= 1, 10_000, "the first ping");
    const [failed] = deliveriesFor("/ping", authReqId);
    expect(failed?.status).toBe(503);
    const back = await downUntil((failed?.at ?? 0) + FIRST_RETRY_MS + MARGIN_MS, "/ping");

    await receiver.waitUntil(() => deliveriesFor("/ping", authReqId).length >= 2, 10_000, "the retried ping");
    const late = deliveriesFor("/ping", authReqId)[1];
    expect(late?.status).toBe(200);
    expect(late?.at).toBeGreaterThanOrEqual(back);
    expect(late?.headers.authorization).toBe("Bearer ping-token-1");
    expect(JSON.parse(late?.body ?? "{}")).toEqual({ auth_req_id: authReqId });

    tokensOf(await kiosk.pollCiba(authReqId));
    await restart();
    expectAnswer(await kiosk.pollCiba(authReqId), 400, "invalid_grant");
  });

  it("push: the first attempt fails, the process dies; after the restart the same tokens are pushed, late, and never minted twice", async () => {
    const kiosk = client(clients.push);
    const phone = new Browser(base);
    await phone.signIn("alice", "alice-password");
    receiver.program("/push", [503, 200]);
    const before = Date.now();
    const started = expectAnswer(
      await kiosk.backchannel({
        scope: "openid profile",
        login_hint: "alice",
        client_notification_token: "push-token-1",
      }),
      200,
    );
    const authReqId = field(started, "auth_req_id");
    const internalId = await internalIdOf(authReqId, before);
    expectAnswer(await phone.answerCiba(internalId, "approve", ["profile"]), 200);

    await receiver.waitUntil(() => deliveriesFor("/push", authReqId).length >= 1, 10_000, "the first push");
    const [failed] = deliveriesFor("/push", authReqId);
    expect(failed?.status).toBe(503);
    const back = await downUntil((failed?.at ?? 0) + FIRST_RETRY_MS + MARGIN_MS, "/push");

    await receiver.waitUntil(() => deliveriesFor("/push", authReqId).length >= 2, 10_000, "the retried push");
    const late = deliveriesFor("/push", authReqId)[1];
    expect(late?.status).toBe(200);
    expect(late?.at).toBeGreaterThanOrEqual(back);
    const first = JSON.parse(failed?.body ?? "{}");
    const second = JSON.parse(late?.body ?? "{}");
    expect(second.access_token).toEqual(expect.any(String));
    // CIBA §10.3.1: the tokens were minted once, before the process died, and kept (encrypted).
    expect(second.access_token).toBe(first.access_token);
    expect(second.id_token).toBe(first.id_token);
    // Delivered once: a further restart sends nothing more.
    await sleep(300);
    await restart();
    await sleep(FIRST_RETRY_MS + MARGIN_MS);
    expect(deliveriesFor("/push", authReqId).filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("an expired request is deleted by its alarm after the restart", async () => {
    const kiosk = client(clients.poll);
    const started = expectAnswer(
      await kiosk.backchannel({ scope: "openid", login_hint: "bob", requested_expiry: "2" }),
      200,
    );
    const authReqId = field(started, "auth_req_id");
    expectAnswer(await kiosk.pollCiba(authReqId), 400, "authorization_pending");

    // Expiry, and with CIBA_EXPIRED_GRACE=0 the clean-up, falls due while the process is down.
    await downUntil(Date.now() + 2_000 + MARGIN_MS, "/notify");
    // No poll before the alarm has had time to run: a request kept past expiry answers
    // expired_token; a deleted one is unknown.
    await sleep(1_500);
    expectAnswer(await kiosk.pollCiba(authReqId), 400, "invalid_grant");
  });
});
