/**
 * RFC 9449 beyond the proof itself: server-provided nonces without storage (§4.3 (10), §8, §9),
 * the bindings of tokens and codes to a key (§6.1, §7.1, §7.2, §10, §10.1), and interop with a
 * real client library: openid-client's DPoP handle against the verifier behind a token
 * endpoint that requires nonces and a resource that requires `ath`.
 */
import { env } from "cloudflare:workers";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import {
  accessTokenOf,
  dpopBoundTokenCheck,
  grantBindingCheck,
  parseDpopJkt,
  pushedRequestJkt,
} from "../src/dpop/binding";
import { DPOP_NONCE_HEADER } from "../src/dpop/errors";
import { statelessDpopNonces } from "../src/dpop/nonce";
import { verifyDpopProof } from "../src/dpop/proof";
import {
  ALGS,
  dpopKey,
  dpopTestServer,
  makeProof,
  now,
  OP,
  refusal,
  rendered,
  TOKEN_URL,
  tokenEndpointPolicy,
  USERINFO_URL,
} from "./helpers/dpop";

const key = await dpopKey();
const WINDOW = 60;

describe("RFC 9449 §8: stateless server-provided nonces", () => {
  const at = (seconds: number) => statelessDpopNonces(env.DATA_ENCRYPTION_KEY, { window: WINDOW, now: () => seconds });
  const t = 1_800_000_000 - (1_800_000_000 % WINDOW);

  it("a nonce is accepted in its window and the next one, then refused; it cannot be guessed without the key", async () => {
    const nonce = await at(t).current();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await at(t + WINDOW - 1).current()).toBe(nonce);
    expect(await at(t + 30).check(nonce)).toEqual({ valid: true, current: true, acceptableUntil: t + 2 * WINDOW - 1 });
    expect(await at(t + WINDOW + 5).check(nonce)).toMatchObject({ valid: true, current: false });
    expect((await at(t + 2 * WINDOW).check(nonce)).valid).toBe(false);
    expect((await at(t - WINDOW).check(nonce)).valid).toBe(false);
    const otherKey = statelessDpopNonces("A".repeat(43), { window: WINDOW, now: () => t });
    expect(await otherKey.current()).not.toBe(nonce);
    for (const guess of ["", "x", `${nonce}x`, nonce.toLowerCase()])
      expect((await at(t).check(guess)).valid).toBe(false);
  });

  it("(10): with nonces required, a proof without one gets use_dpop_nonce and the nonce to use (400 / 401)", async () => {
    const nonces = at(now());
    const policy = tokenEndpointPolicy({ nonces, requireNonce: true });
    const error = await refusal(
      verifyDpopProof(await makeProof(key), { method: "POST", url: TOKEN_URL }, policy),
      "use_dpop_nonce",
    );
    const response = await rendered(error);
    expect(response.status).toBe(400);
    expect(response.headers.get(DPOP_NONCE_HEADER)).toBe(await nonces.current());
    const withNonce = await makeProof(key, { claims: { nonce: await nonces.current() } });
    await expect(verifyDpopProof(withNonce, { method: "POST", url: TOKEN_URL }, policy)).resolves.toMatchObject({});

    const resource = tokenEndpointPolicy({ site: "resource_server", nonces, requireNonce: true });
    const request = { method: "GET", url: USERINFO_URL };
    const atResource = await rendered(
      await refusal(
        verifyDpopProof(await makeProof(key, { claims: { htm: "GET", htu: USERINFO_URL } }), request, resource),
        "use_dpop_nonce",
      ),
    );
    expect(atResource.status).toBe(401);
    expect(atResource.headers.get("WWW-Authenticate")).toMatch(
      /^DPoP realm="edge-op", error="use_dpop_nonce", .*algs="ES256 PS256 EdDSA"$/,
    );
    expect(atResource.headers.get(DPOP_NONCE_HEADER)).toBe(await nonces.current());
  });

  it("(10): a wrong or expired nonce is refused with a fresh one; last window's is accepted with the next one (§8.2)", async () => {
    const t0 = now();
    const old = await at(t0 - WINDOW).current();
    const policy = tokenEndpointPolicy({ nonces: at(t0), requireNonce: true, now: () => t0 });
    const verified = await verifyDpopProof(
      await makeProof(key, { claims: { nonce: old } }),
      { method: "POST", url: TOKEN_URL },
      policy,
    );
    expect(verified.nextNonce).toBe(await at(t0).current());
    for (const nonce of [await at(t0 - 2 * WINDOW).current(), "not-a-nonce-of-ours"]) {
      const error = await refusal(
        verifyDpopProof(await makeProof(key, { claims: { nonce } }), { method: "POST", url: TOKEN_URL }, policy),
        "use_dpop_nonce",
      );
      expect(error.headers[DPOP_NONCE_HEADER]).toBe(await at(t0).current());
    }
    // A nonce this server never provides (no nonce source) is refused outright.
    await refusal(
      verifyDpopProof(
        await makeProof(key, { claims: { nonce: old } }),
        { method: "POST", url: TOKEN_URL },
        tokenEndpointPolicy(),
      ),
    );
  });

  it("(11): with a nonce, the server's clock dates the proof: a client clock 10 minutes off still works", async () => {
    const nonces = at(now());
    const policy = tokenEndpointPolicy({ nonces });
    const skewed = await makeProof(key, { claims: { iat: now() - 600 } });
    const error = await refusal(verifyDpopProof(skewed, { method: "POST", url: TOKEN_URL }, policy), "use_dpop_nonce");
    const retry = await makeProof(key, { claims: { iat: now() - 600, nonce: error.headers[DPOP_NONCE_HEADER] } });
    await expect(verifyDpopProof(retry, { method: "POST", url: TOKEN_URL }, policy)).resolves.toBeDefined();
  });
});

describe("RFC 9449 §6.1, §7: DPoP-bound access tokens at a resource", () => {
  const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

  it("§7.1: reads Authorization: DPoP <token> and Bearer <token>; none at all gets both challenges", async () => {
    expect(accessTokenOf("DPoP abc.def-ghi", ALGS)).toEqual({ scheme: "DPoP", token: "abc.def-ghi" });
    expect(accessTokenOf("dpop abc", ALGS)).toEqual({ scheme: "DPoP", token: "abc" });
    expect(accessTokenOf("Bearer abc=", ALGS)).toEqual({ scheme: "Bearer", token: "abc=" });
    for (const bad of ["DPoP", "DPoP a b", "Basic abc", "DPoP abc, DPoP def"]) {
      await refusal(
        Promise.resolve().then(() => accessTokenOf(bad, ALGS)),
        "invalid_request",
      );
    }
    const response = await rendered(
      await refusal(
        Promise.resolve().then(() => accessTokenOf(null, ALGS)),
        "",
      ),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="edge-op", DPoP realm="edge-op", algs="ES256 PS256 EdDSA"',
    );
  });

  it("§7.2: a DPoP-bound token presented as a Bearer token (no proof) is refused with invalid_token", async () => {
    const check = (cnf: unknown, proofJkt: string | undefined) =>
      Promise.resolve().then(() => dpopBoundTokenCheck(cnf, proofJkt, ALGS));
    const asBearer = await refusal(check({ jkt }, undefined), "invalid_token");
    expect(asBearer.description).toMatch(/DPoP-bound: send it as DPoP with a DPoP proof/);
    const response = await rendered(asBearer);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^DPoP realm="edge-op", error="invalid_token"/);
    // §7.1: a proof made with another key: "Invalid DPoP key binding".
    expect((await refusal(check({ jkt }, jkt.replace("0", "1")), "invalid_token")).description).toBe(
      "Invalid DPoP key binding",
    );
    // A proof with a token bound to nothing protects nothing: refused rather than believed.
    await refusal(check({ "x5t#S256": "abc" }, jkt), "invalid_token");
    await expect(check({ jkt }, jkt)).resolves.toBeUndefined();
    await expect(check(undefined, undefined)).resolves.toBeUndefined();
  });

  it("§10, §10.1: dpop_jkt and the DPoP header at /par bind the code; the token request must prove that key", async () => {
    expect(parseDpopJkt(jkt)).toBe(jkt);
    await refusal(
      Promise.resolve().then(() => parseDpopJkt("short")),
      "invalid_request",
    );
    expect(pushedRequestJkt(jkt, undefined)).toBe(jkt);
    expect(pushedRequestJkt(undefined, jkt)).toBe(jkt);
    await refusal(
      Promise.resolve().then(() => pushedRequestJkt(jkt, jkt.replace("0", "1"))),
      "invalid_request",
    );
    await refusal(
      Promise.resolve().then(() => grantBindingCheck(jkt, undefined)),
      "invalid_grant",
    );
    await refusal(
      Promise.resolve().then(() => grantBindingCheck(jkt, jkt.replace("0", "1"))),
      "invalid_grant",
    );
    expect(() => grantBindingCheck(jkt, jkt)).not.toThrow();
    expect(() => grantBindingCheck(undefined, undefined)).not.toThrow();
  });
});

describe("interop: openid-client's DPoP handle against the verifier", () => {
  it("client_credentials with a required nonce (retried by the client), then a resource request with ath", async () => {
    const nonces = statelessDpopNonces(env.DATA_ENCRYPTION_KEY, { window: WINDOW });
    const server = dpopTestServer((site) => tokenEndpointPolicy({ site, nonces, requireNonce: true }));
    const config = new client.Configuration({ issuer: OP, token_endpoint: TOKEN_URL }, "dpop-client", "secret");
    config[client.customFetch] = (url, options) =>
      server.app.fetch(new Request(url, options as RequestInit)) as unknown as ReturnType<client.CustomFetch>;
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair("ES256"));

    const tokens = await client.clientCredentialsGrant(config, { scope: "api:read" }, { DPoP });
    expect(tokens.token_type).toBe("dpop");
    expect(server.issued.get(tokens.access_token)?.jkt).toBe(await DPoP.calculateThumbprint());
    const response = await client.fetchProtectedResource(
      config,
      tokens.access_token,
      new URL(USERINFO_URL),
      "GET",
      undefined,
      undefined,
      { DPoP },
    );
    expect(await response.json()).toEqual({ sub: "dpop-user" });
    // The first token request lacked a nonce (400 use_dpop_nonce); everything after carried one.
    expect(server.requests).toEqual([
      { path: "/token", status: 400 },
      { path: "/token", status: 200 },
      { path: "/userinfo", status: 200 },
    ]);

    // The same token as a Bearer token, without the proof, is refused.
    const bearer = await server.app.fetch(
      new Request(USERINFO_URL, { headers: { Authorization: `Bearer ${tokens.access_token}` } }),
    );
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get("WWW-Authenticate")).toMatch(/^DPoP realm="edge-op", error="invalid_token"/);
  });
});
