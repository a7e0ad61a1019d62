/**
 * The typed logger (src/log.ts): one JSON line per event at its declared level, and what an
 * unexpected error leaves in the log. A bug's message can quote client input (a JSON parser
 * quoting a body, a URL with a handle in it), so the boundary logs the error's name and a
 * bounded message with every token-like run removed, never the raw message or a stack.
 */
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderError } from "../src/http/boundary";
import { describeError, logger } from "../src/log";

afterEach(() => vi.restoreAllMocks());

function capture(method: "log" | "warn" | "error") {
  const lines: string[] = [];
  vi.spyOn(console, method).mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  return lines;
}

describe("logger", () => {
  it("writes each event as one JSON line, at the level the event is declared with", () => {
    const info = capture("log");
    const warn = capture("warn");
    const error = capture("error");
    logger.info("ciba_request_created", { client_id: "bank", internal_id: "abc" });
    logger.warn("grant_revoked", { grant_id: "g1", reason: "refresh_token_reuse" });
    logger.error("client_secret_unreadable", { client_id: "bank" });
    expect(info.map((line) => JSON.parse(line))).toEqual([
      { event: "ciba_request_created", client_id: "bank", internal_id: "abc" },
    ]);
    expect(warn.map((line) => JSON.parse(line))).toEqual([
      { event: "grant_revoked", grant_id: "g1", reason: "refresh_token_reuse" },
    ]);
    expect(error.map((line) => JSON.parse(line))).toEqual([{ event: "client_secret_unreadable", client_id: "bank" }]);
  });
});

describe("unhandled_error (src/http/boundary.ts)", () => {
  const token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw";
  const handle = "Zm9vYmFyYmF6cXV4LWEtcmVmcmVzaC10b2tlbi1zZWNyZXQ";

  it("logs the error's name and a bounded message with token-like values removed, and answers a bare 500", async () => {
    const lines = capture("error");
    const app = new Hono();
    app.post("/boom", () => {
      throw new SyntaxError(`Unexpected token in JSON at position 3: "${token}" ${handle}\n${"x ".repeat(500)}`);
    });
    app.onError(renderError);
    const response = await app.request("/boom", { method: "POST" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "server_error", error_description: "internal error" });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? "{}");
    expect(line).toMatchObject({ event: "unhandled_error", path: "/boom", error: "SyntaxError" });
    expect(line.message).toMatch(/^Unexpected token in JSON at position 3/);
    expect(line.message.length).toBeLessThanOrEqual(200);
    expect(lines[0]).not.toContain(token.slice(0, 20));
    expect(lines[0]).not.toContain(handle);
    expect(lines[0]).not.toContain("\\n");
    expect(line).not.toHaveProperty("stack");
  });

  it("describes something thrown that is not an Error by its type", () => {
    expect(describeError(`a string with ${handle}`)).toEqual({ error: "string", message: "a string with [redacted]" });
  });
});
