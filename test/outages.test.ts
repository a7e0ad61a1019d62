/**
 * Issue 19, outages of what edge-op calls: D1 failing or timing out is a 503
 * temporarily_unavailable with Retry-After, not a 500 (src/http/boundary.ts); a client's own
 * jwks_uri being down is that client's invalid_client (401), never a 5xx. D1 is wrapped so its
 * statements fail as the runtime reports it; the jwks_uri is the loopback helper server
 * answering 500 or not answering in time. A document that answered before and is down now still
 * lends its keys for JWKS_URI_STALE_SECONDS; a one-off 5xx is retried within the request.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createProvider } from "../src/index";
import { clientKeyPair, registerClient } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";

const SECRET = "outage-client-secret-0123456789";
const provider = createProvider<Cloudflare.Env>();

/** D1 as an outage shows it: every statement's execution fails with the runtime's message. */
function failingD1(message: string): D1Database {
  const fail = () => Promise.reject(new Error(message));
  const statement = (): D1PreparedStatement => {
    const methods: Record<string, unknown> = { first: fail, all: fail, run: fail, raw: fail };
    const proxy: D1PreparedStatement = new Proxy(env.DB.prepare("SELECT 1"), {
      get: (target, property) => {
        if (property === "bind") return () => proxy;
        if (typeof property === "string" && property in methods) return methods[property];
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return proxy;
  };
  return new Proxy(env.DB, {
    get: (target, property) => {
      if (property === "prepare") return statement;
      if (property === "batch" || property === "exec") return fail;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function fetchWith(db: D1Database, path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  // A new env object: settings and stores are built per env, so nothing cached leaks in.
  const response = await provider.fetch(new Request(`${ISSUER}${path}`, init), { ...env, DB: db }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const clientCredentials = {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...basic("outage-client", SECRET) },
  body: "grant_type=client_credentials",
};

const keys = await clientKeyPair("ES256");

beforeAll(async () => {
  await registerClient({ client_id: "outage-client", client_secret: SECRET, grant_types: ["client_credentials"] });
  for (const id of ["jwks-500", "jwks-slow", "jwks-blip", "jwks-stale", "jwks-nostale", "jwks-gone"]) {
    await registerClient({
      client_id: id,
      client_secret: undefined,
      token_endpoint_auth_method: "private_key_jwt",
      jwks_uri: outsideUrl(`/jwks/outage/${id}`),
      grant_types: ["client_credentials"],
    });
  }
});

describe("D1 outage (issue 19): 503 temporarily_unavailable with Retry-After, never a 500", () => {
  for (const message of [
    "D1_ERROR: Network connection lost.",
    "D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.",
  ]) {
    it(`RFC 6749 §4.1.2.1 temporarily_unavailable at the token endpoint when D1 fails: ${message}`, async () => {
      const response = await fetchWith(failingD1(message), "/token", clientCredentials);
      expect(response.status).toBe(503);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(response.headers.get("cache-control")).toBe("no-store");
      const body = await response.json<OAuthErrorBody>();
      expect(body.error).toBe("temporarily_unavailable");
      expect(JSON.stringify(body)).not.toContain("D1_ERROR");
    });
  }

  it("the same request succeeds once D1 is back", async () => {
    const response = await fetchWith(env.DB, "/token", clientCredentials);
    expect(response.status).toBe(200);
  });

  it("a bug that is not an outage is still a bare 500 server_error (the recognition is narrow)", async () => {
    const response = await fetchWith(failingD1("TypeError-like bug: x is undefined"), "/token", clientCredentials);
    expect(response.status).toBe(500);
    expect((await response.json<OAuthErrorBody>()).error).toBe("server_error");
  });
});

describe("a client's jwks_uri down (issue 19): that client's invalid_client, never a 5xx", () => {
  async function assertionFor(clientId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: String(keys.publicJwk.kid) })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${ISSUER}/token`)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(keys.privateKey);
  }

  async function tokenRequest(clientId: string) {
    return jsonOf<OAuthErrorBody>(
      await postForm("/token", {
        grant_type: "client_credentials",
        client_id: clientId,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await assertionFor(clientId),
      }),
    );
  }

  it("RFC 7523 §3 / RFC 6749 §5.2: the jwks_uri answers 500 → 401 invalid_client", async () => {
    await program("/jwks/outage/jwks-500", { status: 500, body: "down" });
    const { status, body } = await tokenRequest("jwks-500");
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });

  it("RFC 7523 §3 / RFC 6749 §5.2: the jwks_uri does not answer in time → 401 invalid_client", async () => {
    await program("/jwks/outage/jwks-slow", { status: 200, body: "{}", delayMs: 8000 });
    const { status, body } = await tokenRequest("jwks-slow");
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  }, 20_000);
});

describe("a client's jwks_uri with a blip or an outage after it answered (issue 19): retried once, then its last keys within JWKS_URI_STALE_SECONDS", () => {
  // A provider of its own (its jwks_uri cache is empty) that treats every document as stale at
  // once (JWKS_URI_CACHE_SECONDS=0), so each request goes to the client's server.
  const fresh = createProvider<Cloudflare.Env>();
  const noCache = { ...env, JWKS_URI_CACHE_SECONDS: "0" };
  const noStale = { ...env, JWKS_URI_CACHE_SECONDS: "0", JWKS_URI_STALE_SECONDS: "0" };
  const document = { status: 200, body: JSON.stringify({ keys: [keys.publicJwk] }) };

  async function tokenRequestTo(vars: Cloudflare.Env, clientId: string): Promise<Response> {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: String(keys.publicJwk.kid) })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${ISSUER}/token`)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(keys.privateKey);
    const ctx = createExecutionContext();
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    const request = new Request(`${ISSUER}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const response = await fresh.fetch(request, vars, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  it("a single 503 from the jwks_uri is retried within the request: 200, two fetches", async () => {
    await program("/jwks/outage/jwks-blip", [{ status: 503, body: "busy" }, document]);
    const response = await tokenRequestTo(noCache, "jwks-blip");
    expect(response.status).toBe(200);
    expect(await received("/jwks/outage/jwks-blip")).toHaveLength(2);
  });

  it("keys it answered with before are still used while it answers 500 (JWKS_URI_STALE_SECONDS)", async () => {
    await program("/jwks/outage/jwks-stale", document);
    expect((await tokenRequestTo(noCache, "jwks-stale")).status).toBe(200);
    await program("/jwks/outage/jwks-stale", { status: 500, body: "down" });
    expect((await tokenRequestTo(noCache, "jwks-stale")).status).toBe(200);
    // The outage was seen (the document was asked, and asked again), not skipped by a cache.
    expect((await received("/jwks/outage/jwks-stale")).length).toBeGreaterThanOrEqual(3);
  });

  it("with JWKS_URI_STALE_SECONDS=0 the same outage is the client's 401 invalid_client", async () => {
    await program("/jwks/outage/jwks-nostale", document);
    expect((await tokenRequestTo(noStale, "jwks-nostale")).status).toBe(200);
    await program("/jwks/outage/jwks-nostale", { status: 500, body: "down" });
    const response = await tokenRequestTo(noStale, "jwks-nostale");
    expect(response.status).toBe(401);
    expect((await response.json<OAuthErrorBody>()).error).toBe("invalid_client");
  });

  it("a document that answers without the key (the client removed it) replaces the kept keys at once", async () => {
    await program("/jwks/outage/jwks-gone", document);
    expect((await tokenRequestTo(noCache, "jwks-gone")).status).toBe(200);
    await program("/jwks/outage/jwks-gone", { status: 200, body: JSON.stringify({ keys: [] }) });
    const response = await tokenRequestTo(noCache, "jwks-gone");
    expect(response.status).toBe(401);
    expect((await response.json<OAuthErrorBody>()).error).toBe("invalid_client");
  });
});
