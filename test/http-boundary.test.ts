/**
 * The HTTP boundary: strict form parsing, one JSON error format, 405/404/413, no stack traces.
 */
import { describe, expect, it } from "vitest";
import { registerClient } from "./helpers/fixtures";
import { basic, call, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

const auth = basic("boundary-client", "boundary-secret-0123456789");
await registerClient({ client_id: "boundary-client", client_secret: "boundary-secret-0123456789" });

describe("form bodies (RFC 6749 §3.2)", () => {
  it("refuses a body that is not application/x-www-form-urlencoded", async () => {
    for (const type of ["application/json", "text/plain", "multipart/form-data; boundary=x"]) {
      const response = await call("/token", {
        method: "POST",
        headers: { "content-type": type, ...auth },
        body: '{"grant_type":"client_credentials"}',
      });
      const { status, body } = await jsonOf<OAuthErrorBody>(response);
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_request");
    }
  });

  it("refuses a request without a content type", async () => {
    const response = await call("/token", { method: "POST", headers: auth, body: "grant_type=client_credentials" });
    expect(response.status).toBe(400);
  });

  it("accepts a charset parameter on the form content type", async () => {
    const response = await call("/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8", ...auth },
      body: "grant_type=client_credentials",
    });
    expect(response.status).toBe(200);
  });

  it("refuses a repeated parameter with invalid_request (RFC 6749 §3.1)", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", "grant_type=client_credentials&grant_type=client_credentials", auth),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
    expect(body.error_description).toContain("grant_type");
  });

  it("treats a parameter sent without a value as omitted (RFC 6749 §3.1)", async () => {
    const response = await postForm("/token", "grant_type=client_credentials&scope=", auth);
    expect(response.status).toBe(200);
  });

  it("refuses a body over the limit with 413, whether or not Content-Length says so", async () => {
    const big = `grant_type=client_credentials&padding=${"a".repeat(20_000)}`;
    const declared = await postForm("/token", big, auth);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as OAuthErrorBody).error).toBe("invalid_request");

    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode("a".repeat(1000)));
        controller.close();
      },
    });
    const chunked = await call("/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
      body: stream,
      // @ts-expect-error: Workers' RequestInit accepts duplex for streamed bodies
      duplex: "half",
    });
    expect(chunked.status).toBe(413);
  });

  it("refuses a body that is not UTF-8", async () => {
    const response = await call("/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
      body: new Uint8Array([0x67, 0x72, 0x61, 0x6e, 0x74, 0x3d, 0xff, 0xfe]),
    });
    expect(response.status).toBe(400);
  });
});

describe("methods and paths", () => {
  it("answers a wrong method with 405 and an Allow header", async () => {
    const response = await call("/token");
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(((await response.json()) as OAuthErrorBody).error).toBe("invalid_request");
    const put = await call("/jwks", { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET");
  });

  it("answers an unknown path with a JSON 404", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(await call("/nothing-here"));
    expect(status).toBe(404);
    expect(body.error).toBe("not_found");
  });
});

describe("error format (RFC 6749 §5.2)", () => {
  it("is JSON with error and error_description, no-store, and no stack trace", async () => {
    const response = await postForm("/token", { grant_type: "client_credentials" });
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|Error:/);
  });
});
