/**
 * Issue 19, outages of what edge-op calls: D1 failing or timing out is a 503
 * temporarily_unavailable with Retry-After, not a 500 (src/http/boundary.ts); a client's own
 * jwks_uri being down is that client's invalid_client (401), never a 5xx. D1 is wrapped so its
 * statements fail as the runtime reports it; the jwks_uri is the loopback helper server
 * answering 500 or not answering in time.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createProvider } from "../src/index";
import { clientKeyPair, registerClient } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { outsideUrl, program } from "./helpers/outside";

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
  for (const id of ["jwks-500", "jwks-slow"]) {
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
