/**
 * The one outbound-delivery helper (src/outbound/deliver.ts) that the webhook notifier and
 * ping/push delivery share: status classes, no redirects followed, the timeout, the backoff
 * schedule. Against the real helper server on loopback (test/helpers/outside.ts).
 */
import { describe, expect, it } from "vitest";
import { classify, postOnce, retryAt } from "../src/outbound/deliver";
import { outsideUrl, program, received } from "./helpers/outside";

const ping = { delivered: (status: number) => status === 200 || status === 204 };

describe("status classes", () => {
  it("delivered, retry (408, 429, 5xx) or give up (3xx and every other status)", () => {
    expect(classify(204, ping)).toEqual({ outcome: "delivered" });
    expect(classify(200, ping)).toEqual({ outcome: "delivered" });
    for (const status of [408, 429, 500, 502, 503]) expect(classify(status, ping).outcome, `${status}`).toBe("retry");
    for (const status of [201, 400, 401, 404, 410]) expect(classify(status, ping).outcome, `${status}`).toBe("give_up");
    expect(classify(302, ping)).toEqual({ outcome: "give_up", reason: "answered 302; redirects are not followed" });
  });

  it("lets the caller name a final status (a client refusing its token)", () => {
    const explain = (status: number) => (status === 401 ? "the client refused the token" : undefined);
    expect(classify(401, { ...ping, explain })).toEqual({ outcome: "give_up", reason: "the client refused the token" });
    expect(classify(404, { ...ping, explain })).toEqual({ outcome: "give_up", reason: "answered 404" });
  });
});

describe("one POST", () => {
  const post = (path: string, timeoutMs = 2000) =>
    postOnce({
      url: outsideUrl(path),
      headers: { "content-type": "application/json" },
      body: "{}",
      timeoutMs,
      ...ping,
    });

  it("does not follow a redirect: the answer is final and the target is never asked", async () => {
    await program("/deliver/redirect", { status: 307, headers: { location: outsideUrl("/deliver/elsewhere") } });
    expect(await post("/deliver/redirect")).toEqual({
      outcome: "give_up",
      reason: "answered 307; redirects are not followed",
    });
    expect(await received("/deliver/elsewhere")).toHaveLength(0);
  });

  it("gives up on an answer slower than the timeout, as a retry", async () => {
    await program("/deliver/slow", { status: 204, delayMs: 1500 });
    expect((await post("/deliver/slow", 200)).outcome).toBe("retry");
  });

  it("sends the body and headers once per call", async () => {
    await program("/deliver/ok", { status: 204 });
    expect(await post("/deliver/ok")).toEqual({ outcome: "delivered" });
    const [request] = await received("/deliver/ok");
    expect(request).toMatchObject({ method: "POST", body: "{}" });
  });
});

describe("backoff", () => {
  it("waits 2, 4, 8 … seconds after attempt 1, 2, 3 …, and stops at the last attempt", () => {
    expect(retryAt(1, 5, 0)).toBe(2000);
    expect(retryAt(2, 5, 0)).toBe(4000);
    expect(retryAt(4, 5, 0)).toBe(16_000);
    expect(retryAt(5, 5, 0)).toBeUndefined();
  });
});
