/**
 * Property: whatever a client sends — any method, path, content type, body or Authorization
 * header — the provider answers with a 4xx JSON error (or a success), never a 5xx.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENDPOINTS, GRANT_TYPE_VALUES, PAGES, PARAMETER_NAMES } from "./helpers/endpoints";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call } from "./helpers/http";

await registerClient({
  client_id: "fuzz-client",
  client_secret: "fuzz-secret-0123456789",
  grant_types: ["client_credentials", "refresh_token", "urn:openid:params:grant-type:ciba"],
  backchannel_token_delivery_mode: "poll",
});
await registerUser({ username: "fuzz-user", password: "fuzz-password" });

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    ...GRANT_TYPE_VALUES,
    "fuzz-client",
    "fuzz-user",
    "openid",
    "openid profile",
    "%",
    "%zz",
    "\u0000",
    "a".repeat(3000),
  ),
);

const formBody = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMETER_NAMES), fc.string({ maxLength: 10 })), text), {
    maxLength: 12,
  })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"));

const rawBody = fc.oneof(
  formBody,
  fc.string({ maxLength: 200 }),
  fc.constantFrom("%", "a=%E0%A4%A", "=&=&", "a=1&a=2", '{"grant_type":"client_credentials"}'),
);

const contentType = fc.constantFrom(
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=utf-8",
  "application/json",
  "text/plain",
  "multipart/form-data",
  "",
  "x/y; ;;",
);

const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(`Basic ${btoa("fuzz-client:fuzz-secret-0123456789")}`),
  fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 60 }),
);

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
  path: fc.oneof(
    fc.constantFrom(...ENDPOINTS),
    fc.tuple(fc.constantFrom(...ENDPOINTS), fc.string({ maxLength: 20 })).map(([p, q]) => `${p}?${encodeURI(q)}`),
  ),
  contentType,
  body: rawBody,
  authorization,
});

/** Header values must be ISO-8859-1 without CR/LF, or fetch itself refuses to send them. */
function sendable(value: string): boolean {
  return /^[\x20-\x7e\x80-\xff]*$/.test(value);
}

describe("hostile input at every endpoint", () => {
  it("never yields a 5xx; every error is JSON with an error code", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.authorization !== undefined && sendable(r.authorization)) headers.authorization = r.authorization;
        const withBody = r.method !== "GET";
        const response = await call(r.path, { method: r.method, headers, body: withBody ? r.body : undefined });
        expect(response.status, `${r.method} ${r.path}`).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.headers.get("content-type")).toContain("application/json");
          const body = (await response.json()) as { error?: unknown };
          expect(typeof body.error).toBe("string");
        } else {
          await response.body?.cancel();
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("hostile input at every page", () => {
  it("never yields a 5xx", async () => {
    const pageRequest = request.map((r) => ({ ...r, path: r.path.replace(/^[^?]*/, "") }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PAGES), pageRequest, async (page, r) => {
        const headers: Record<string, string> = { "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` };
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.authorization !== undefined && sendable(r.authorization))
          headers.cookie = `edge-op-session=${encodeURIComponent(r.authorization)}`;
        const withBody = r.method !== "GET";
        const response = await call(`${page}${r.path}`, {
          method: r.method,
          headers,
          body: withBody ? r.body : undefined,
          redirect: "manual",
        });
        expect(response.status, `${r.method} ${page}`).toBeLessThan(500);
        await response.body?.cancel();
      }),
      { numRuns: 300 },
    );
  });
});
