/**
 * The per-user Durable Object (src/users/user-object.ts) through its binding (USERS): the
 * pending-request index with its caps under concurrency, expiry, no storage left once nothing
 * is pending (issue 18), push subscriptions, and hibernatable WebSockets that see every change
 * at once.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type LiveEvent, MAX_SOCKETS, type PendingRequest, userObjectName } from "../src/users/user-object";

let counter = 0;
/** A fresh user's object (each test its own). */
function userObject() {
  const ns = env.USERS;
  return ns.get(ns.idFromName(`test-user-${++counter}-${crypto.randomUUID()}`));
}

const now = () => Math.floor(Date.now() / 1000);

function pending(overrides: Partial<PendingRequest> = {}): PendingRequest {
  return {
    internalId: crypto.randomUUID().replace(/-/g, ""),
    clientId: "kiosk",
    clientName: "Kiosk 9",
    bindingMessage: "W4SCT",
    scopes: ["openid"],
    acrValues: [],
    createdAt: now(),
    expiresAt: now() + 300,
    ...overrides,
  };
}

const loose = { perUser: 100, perUserAndClient: 100 };

/** The keys the object stores (its synchronous key-value storage). */
function storedKeys(user: ReturnType<typeof userObject>) {
  return runInDurableObject(user, (_instance, state) => [...state.storage.kv.list()].map(([key]) => key));
}

describe("pending CIBA requests (replacing backchannel_login_index)", () => {
  it("lists what was added, oldest first, in one call, optionally for one client", async () => {
    const user = userObject();
    const a = pending({ createdAt: now() - 20 });
    const b = pending({ createdAt: now() - 10, clientId: "bank" });
    const c = pending({ createdAt: now() });
    for (const entry of [c, a, b]) expect(await user.addPending(entry, loose)).toEqual({ added: true });
    expect((await user.listPending()).map((r) => r.internalId)).toEqual([a, b, c].map((r) => r.internalId));
    expect(await user.listPending("bank")).toEqual([b]);
  });

  it("a request is listed once; removing it twice removes it once", async () => {
    const user = userObject();
    const entry = pending();
    await user.addPending(entry, loose);
    expect(await user.addPending(entry, loose)).toEqual({ added: false, reason: "already_listed" });
    expect(await user.removePending(entry.internalId)).toBe(true);
    expect(await user.removePending(entry.internalId)).toBe(false);
    expect(await user.listPending()).toEqual([]);
  });

  it("CIBA §13 / OP policy: beyond the per-client cap, and beyond the per-user cap, nothing is added", async () => {
    const user = userObject();
    const caps = { perUser: 3, perUserAndClient: 2 };
    expect(await user.addPending(pending(), caps)).toEqual({ added: true });
    expect(await user.addPending(pending(), caps)).toEqual({ added: true });
    expect(await user.addPending(pending(), caps)).toEqual({ added: false, reason: "too_many_pending" });
    expect(await user.addPending(pending({ clientId: "bank" }), caps)).toEqual({ added: true });
    expect(await user.addPending(pending({ clientId: "shop" }), caps)).toEqual({
      added: false,
      reason: "too_many_pending",
    });
    expect(await user.listPending()).toHaveLength(3);
  });

  it("of 8 concurrent requests with a cap of 5, exactly 5 are listed (count and insert are one step)", async () => {
    const user = userObject();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => user.addPending(pending(), { perUser: 5, perUserAndClient: 5 })),
    );
    expect(outcomes.filter((o) => o.added)).toHaveLength(5);
    expect(await user.listPending()).toHaveLength(5);
  });

  it("expired requests neither count against the cap nor are listed; the next add sweeps them", async () => {
    const user = userObject();
    const soon = pending({ expiresAt: now() + 1 });
    await user.addPending(soon, { perUser: 1, perUserAndClient: 1 });
    expect(await user.addPending(pending({ expiresAt: now() - 1 }), loose)).toEqual({
      added: false,
      reason: "expired",
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await user.listPending()).toEqual([]);
    expect(await user.addPending(pending(), { perUser: 1, perUserAndClient: 1 })).toEqual({ added: true });
    expect(await storedKeys(user)).toHaveLength(1);
    // No alarm: expiry is the request object's clean-up, which calls removePending.
    expect(await runDurableObjectAlarm(user)).toBe(false);
  });

  it("the stored detail comes back with the list, one call, and follows an update", async () => {
    const user = userObject();
    const entry = pending({ createdAt: now() - 1 });
    await user.addPending(entry, loose, '{"v":1}');
    await user.addPending(pending({ clientId: "bank" }), loose, '{"v":2}');
    expect(await user.listPendingDetails()).toEqual(['{"v":1}', '{"v":2}']);
    expect(await user.listPendingDetails("bank")).toEqual(['{"v":2}']);
    expect(await user.updatePendingDetail(entry.internalId, '{"v":3}')).toBe(true);
    expect(await user.listPendingDetails("kiosk")).toEqual(['{"v":3}']);
    expect(await user.updatePendingDetail("absent", "{}")).toBe(false);
  });

  it("issue 18: removing the last pending request leaves no storage behind; a subscription keeps the rest", async () => {
    const user = userObject();
    const entry = pending();
    await user.addPending(entry, loose, "{}");
    expect(await user.removePending(entry.internalId)).toBe(true);
    expect(await storedKeys(user)).toEqual([]);
    const other = pending();
    await user.addPending(other, loose);
    await user.putSubscription({ id: "a".repeat(64), sealed: "v1.x", label: "Phone", service: "push.example" }, 5);
    expect(await user.removePending(other.internalId)).toBe(true);
    expect(await storedKeys(user)).toEqual([`sub:${"a".repeat(64)}`]);
  });

  it("refuses malformed entries at the RPC boundary", async () => {
    const user = userObject();
    const bad = [
      { ...pending(), internalId: "" },
      { ...pending(), scopes: "openid" },
      { ...pending(), expiresAt: 1.5 },
      { ...pending(), bindingMessage: 7 },
      { ...pending(), clientName: "x".repeat(5000) },
    ];
    for (const entry of bad) {
      expect(await user.addPending(entry as unknown as PendingRequest, loose)).toEqual({
        added: false,
        reason: "invalid",
      });
    }
  });

  it("is named by a hash of the subject, never the subject", async () => {
    const name = await userObjectName("alice@example.com");
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect(name).toBe(await userObjectName("alice@example.com"));
    expect(name).not.toBe(await userObjectName("bob@example.com"));
  });
});

describe("push subscriptions", () => {
  const id = (n: number) => n.toString(16).padStart(64, "0");
  const sub = (n: number) => ({ id: id(n), sealed: `v1.sealed-${n}`, label: `Device ${n}`, service: "push.example" });

  it("stores, replaces by id, and evicts the least recently stored beyond the maximum", async () => {
    const user = userObject();
    for (const n of [1, 2, 3]) expect(await user.putSubscription(sub(n), 3)).toEqual({ stored: true, evicted: [] });
    // Storing 2 again makes it the newest; 1 is now the oldest.
    expect(await user.putSubscription({ ...sub(2), sealed: "v1.renewed" }, 3)).toEqual({ stored: true, evicted: [] });
    expect(await user.putSubscription(sub(4), 3)).toEqual({ stored: true, evicted: [id(1)] });
    expect(await user.putSubscription(sub(5), 3)).toEqual({ stored: true, evicted: [id(3)] });
    const stored = await user.subscriptions();
    expect(stored.map((s) => s.id)).toEqual([id(2), id(4), id(5)]);
    expect(stored[0]).toMatchObject({ sealed: "v1.renewed", label: "Device 2", service: "push.example" });
  });

  it("removal with the sealed copy removes only that copy (a 410 never deletes a renewed subscription)", async () => {
    const user = userObject();
    await user.putSubscription(sub(1), 5);
    await user.putSubscription({ ...sub(1), sealed: "v1.renewed" }, 5);
    expect(await user.removeSubscription(id(1), sub(1).sealed)).toBe(false);
    expect(await user.removeSubscription(id(1), "v1.renewed")).toBe(true);
    expect(await user.subscriptions()).toEqual([]);
  });

  it("refuses a malformed id or an oversized value", async () => {
    const user = userObject();
    for (const bad of [
      { ...sub(1), id: "endpoint" },
      { ...sub(1), sealed: "x".repeat(9000) },
    ]) {
      expect(await user.putSubscription(bad, 5)).toEqual({ stored: false, error: "malformed subscription" });
    }
    expect(await user.subscriptions()).toEqual([]);
  });
});

/** Opens a /ciba page's socket to the object and collects what it is sent. */
async function openPage(user: ReturnType<typeof userObject>) {
  const response = await user.fetch("https://edge-op.internal/live", { headers: { upgrade: "websocket" } });
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`no socket: ${response.status}`);
  const events: LiveEvent[] = [];
  const texts: string[] = [];
  let closed: number | undefined;
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (event) => {
    const text = String(event.data);
    texts.push(text);
    if (text !== "pong") events.push(JSON.parse(text));
    for (const wake of waiters.splice(0)) wake();
  });
  ws.addEventListener("close", (event) => {
    closed = event.code;
    for (const wake of waiters.splice(0)) wake();
  });
  ws.accept();
  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 2000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the socket");
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { ws, events, texts, until, closed: () => closed };
}

describe("live /ciba pages over hibernatable WebSockets", () => {
  it("a page gets the list on connect, then every request added or removed, within the call", async () => {
    const user = userObject();
    const first = pending();
    await user.addPending(first, loose);
    const page = await openPage(user);
    await page.until(() => page.events.length >= 1);
    expect(page.events[0]).toEqual({ type: "list", requests: [first] });
    const second = pending();
    await user.addPending(second, loose);
    await page.until(() => page.events.length >= 2);
    expect(page.events[1]).toEqual({ type: "added", request: second });
    await user.removePending(first.internalId, "decided");
    await page.until(() => page.events.length >= 3);
    expect(page.events[2]).toEqual({ type: "removed", internalId: first.internalId, reason: "decided" });
    page.ws.close(1000, "done");
  });

  it("every open page of the user hears it (two pages, one event each)", async () => {
    const user = userObject();
    const [one, two] = [await openPage(user), await openPage(user)];
    const entry = pending();
    await user.addPending(entry, loose);
    for (const page of [one, two]) {
      await page.until(() => page.events.some((e) => e.type === "added"));
      expect(page.events.filter((e) => e.type === "added")).toEqual([{ type: "added", request: entry }]);
    }
  });

  it("an expired request is dropped from open pages when its request's clean-up removes it", async () => {
    const user = userObject();
    const entry = pending({ expiresAt: now() + 1 });
    await user.addPending(entry, loose);
    const page = await openPage(user);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await user.removePending(entry.internalId, "expired")).toBe(true);
    await page.until(() => page.events.some((e) => e.type === "removed"));
    expect(page.events.at(-1)).toEqual({ type: "removed", internalId: entry.internalId, reason: "expired" });
  });

  it('"ping" is answered "pong" by the runtime; "sync" sends the whole list again', async () => {
    const user = userObject();
    const page = await openPage(user);
    await page.until(() => page.events.length >= 1);
    page.ws.send("ping");
    await page.until(() => page.texts.includes("pong"));
    await user.addPending(pending(), loose);
    page.ws.send("sync");
    await page.until(() => page.events.filter((e) => e.type === "list").length >= 2);
    const last = page.events.filter((e) => e.type === "list").at(-1);
    expect(last?.type === "list" && last.requests).toHaveLength(1);
  });

  it("an unexpected message closes the socket with 1008; a plain request gets 426", async () => {
    const user = userObject();
    const page = await openPage(user);
    page.ws.send("x".repeat(200));
    await page.until(() => page.closed() !== undefined);
    expect(page.closed()).toBe(1008);
    expect((await user.fetch("https://edge-op.internal/live")).status).toBe(426);
  });

  it(`at most ${MAX_SOCKETS} open pages per user`, async () => {
    const user = userObject();
    for (let i = 0; i < MAX_SOCKETS; i++) await openPage(user);
    const response = await user.fetch("https://edge-op.internal/live", { headers: { upgrade: "websocket" } });
    expect(response.status).toBe(429);
  });
});
