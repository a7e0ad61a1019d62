/**
 * RFC 9449 §4.3: every check a server makes of a DPoP proof, one test per clause, with real
 * proofs (jose) and the real ReplayGuard object behind the jti fence; then the errors as the
 * boundary renders them (§5, §7.1, §8, §9) and stateless nonces (§8).
 */
import { base64url, calculateJwkThumbprint, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { dpopSigningAlgorithms } from "../src/dpop/policy";
import { type DpopRequest, dpopProofOf, verifyDpopProof } from "../src/dpop/proof";
import {
  ALGS,
  dpopKey,
  makeProof,
  now,
  refusal,
  rendered,
  TOKEN_URL,
  tokenEndpointPolicy,
  USERINFO_URL,
} from "./helpers/dpop";

const es256 = await dpopKey("ES256");
const tokenRequest: DpopRequest = { method: "POST", url: TOKEN_URL };
const verify = (proof: string, request = tokenRequest, policy = tokenEndpointPolicy()) =>
  verifyDpopProof(proof, request, policy);

describe("RFC 9449 §4.3: checking DPoP proofs", () => {
  it("accepts a valid proof and returns the RFC 7638 thumbprint of its key", async () => {
    for (const alg of ALGS) {
      const key = alg === "ES256" ? es256 : await dpopKey(alg);
      const verified = await verify(await makeProof(key));
      expect(verified.jkt).toBe(await calculateJwkThumbprint(key.publicJwk, "sha256"));
      expect(verified.nextNonce).toBeUndefined();
    }
  });

  it("(1): there is not more than one DPoP header", async () => {
    const headers = new Headers();
    headers.append("DPoP", await makeProof(es256));
    expect(dpopProofOf(headers, tokenEndpointPolicy())).toBeDefined();
    headers.append("DPoP", await makeProof(es256));
    await refusal(Promise.resolve().then(() => dpopProofOf(headers, tokenEndpointPolicy())));
    expect(dpopProofOf(new Headers(), tokenEndpointPolicy())).toBeUndefined();
  });

  it("(2): the DPoP header is a single well-formed JWT", async () => {
    const proof = await makeProof(es256);
    const notJson = `${base64url.encode("not json")}.${proof.split(".")[1]}.${proof.split(".")[2]}`;
    for (const bad of ["", "abc", `${proof}.${proof}`, `${proof}.x.y`, notJson, "a".repeat(9000)]) {
      await refusal(verify(bad));
    }
  });

  it("(3): jti, htm, htu and iat are all present, of the right type", async () => {
    for (const claims of [{ jti: undefined }, { htm: undefined }, { htu: undefined }, { iat: undefined }]) {
      await refusal(verify(await makeProof(es256, { claims })));
    }
    await refusal(verify(await makeProof(es256, { claims: { iat: String(now()) } })));
    await refusal(verify(await makeProof(es256, { claims: { jti: "j".repeat(257) } })));
  });

  it("(4): typ must be dpop+jwt", async () => {
    for (const typ of [undefined, "JWT", "at+jwt", "dpop"]) {
      const error = await refusal(verify(await makeProof(es256, { header: { typ } })));
      expect(error.description).toMatch(/typ/);
    }
    // RFC 7515 §4.1.9: "application/dpop+jwt" names the same media type.
    await expect(verify(await makeProof(es256, { header: { typ: "application/dpop+jwt" } }))).resolves.toBeDefined();
  });

  it("(5): alg is an asymmetric algorithm this server accepts, never none or a MAC", async () => {
    const es384 = await dpopKey("ES384");
    await refusal(verify(await makeProof(es384)));
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const hmac = await new SignJWT({ jti: crypto.randomUUID(), htm: "POST", htu: TOKEN_URL, iat: now() })
      .setProtectedHeader({ typ: "dpop+jwt", alg: "HS256", jwk: { kty: "oct", k: base64url.encode(secret) } } as {
        alg: string;
      })
      .sign(secret);
    await refusal(verify(hmac));
    const none = [
      { typ: "dpop+jwt", alg: "none", jwk: es256.publicJwk },
      { jti: "n", htm: "POST", htu: TOKEN_URL },
    ]
      .map((part) => base64url.encode(JSON.stringify(part)))
      .join(".");
    await refusal(verify(`${none}.`));
    await refusal(verify(`${none}.c2ln`));
    // The configured list itself may not name none, a MAC or an unknown algorithm.
    for (const bad of [["none"], ["HS256"], ["ES256", "foo"], []]) expect(() => dpopSigningAlgorithms(bad)).toThrow();
    expect(dpopSigningAlgorithms(["ES256", "PS256", "ES256"])).toEqual(["ES256", "PS256"]);
  });

  it("(6): the signature verifies with the jwk of the header", async () => {
    const other = await dpopKey("ES256");
    const error = await refusal(verify(await makeProof(other, { header: { jwk: es256.publicJwk } })));
    expect(error.description).toMatch(/signature/);
    const [head, , signature] = (await makeProof(es256)).split(".");
    const forged = base64url.encode(JSON.stringify({ jti: "x", htm: "POST", htu: TOKEN_URL, iat: now() }));
    await refusal(verify(`${head}.${forged}.${signature}`));
    // A jwk of another type than alg says is no key for it.
    await refusal(verify(await makeProof(es256, { header: { jwk: (await dpopKey("PS256")).publicJwk } })));
  });

  it("(7): the jwk header does not contain a private key", async () => {
    const error = await refusal(verify(await makeProof(es256, { header: { jwk: es256.privateJwk } })));
    expect(error.description).toMatch(/private/);
    await refusal(verify(await makeProof(es256, { header: { jwk: undefined } })));
    await refusal(verify(await makeProof(es256, { header: { jwk: { kty: "oct", k: "c2VjcmV0" } } })));
  });

  it("(8): htm matches the method of the request", async () => {
    await refusal(verify(await makeProof(es256, { claims: { htm: "GET" } })));
    await refusal(verify(await makeProof(es256, { claims: { htm: "post" } })));
  });

  it("(9): htu matches the endpoint's URL, ignoring query and fragment, after RFC 3986 normalisation", async () => {
    for (const htu of [`${TOKEN_URL}?a=b#c`, "HTTPS://OP.example:443/token", "https://op.example/./%74oken"]) {
      await expect(verify(await makeProof(es256, { claims: { htu } }))).resolves.toBeDefined();
    }
    for (const htu of [
      USERINFO_URL,
      "https://op.example/token/",
      "http://op.example/token",
      "https://other.example/token",
    ]) {
      await refusal(verify(await makeProof(es256, { claims: { htu } })));
    }
    await refusal(verify(await makeProof(es256, { claims: { htu: "https://user@op.example/token" } })));
    await refusal(verify(await makeProof(es256, { claims: { htu: "/token" } })));
  });

  it("(11): iat within the window: up to JWT_CLOCK_TOLERANCE (10 s) ahead, at most max age + tolerance old", async () => {
    for (const iat of [now() + 9, now() - 65]) {
      await expect(verify(await makeProof(es256, { claims: { iat } }))).resolves.toBeDefined();
    }
    for (const iat of [now() + 15, now() + 61, now() - 75, 0]) {
      const error = await refusal(verify(await makeProof(es256, { claims: { iat } })));
      expect(error.description).toMatch(/iat/);
    }
  });

  it("(12): at a resource, ath is the base64url SHA-256 of the access token presented", async () => {
    const accessToken = "an-access-token";
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken)));
    const request = { method: "GET", url: USERINFO_URL, accessToken };
    const policy = tokenEndpointPolicy({ site: "resource_server" });
    const claims = { htm: "GET", htu: USERINFO_URL };
    const good = await makeProof(es256, { claims: { ...claims, ath: base64url.encode(digest) } });
    await expect(verify(good, request, policy)).resolves.toBeDefined();
    for (const ath of [undefined, base64url.encode(new Uint8Array(32)), base64url.encode(digest).slice(1)]) {
      const error = await refusal(verify(await makeProof(es256, { claims: { ...claims, ath } }), request, policy));
      expect(error.status).toBe(401);
    }
  });

  it("§11.1: a proof's jti is used once, also under concurrency; fenced per key", async () => {
    const proof = await makeProof(es256);
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => verify(proof)));
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    const error = await refusal(verify(proof));
    expect(error.description).toMatch(/jti/);
    // Another key's proof with the same jti is not a replay of this one.
    const jti = crypto.randomUUID();
    await verify(await makeProof(es256, { claims: { jti } }));
    await expect(verify(await makeProof(await dpopKey(), { claims: { jti } }))).resolves.toBeDefined();
  });
});

describe("RFC 9449 §5, §7.1: how a refused proof is answered", () => {
  it("at the authorization server: 400 invalid_dpop_proof in a JSON body", async () => {
    const response = await rendered(await refusal(verify(await makeProof(es256, { claims: { htm: "PUT" } }))));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_dpop_proof" });
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("at a protected resource: 401 with a DPoP challenge naming the error and the accepted algs", async () => {
    const policy = tokenEndpointPolicy({ site: "resource_server" });
    const proof = await makeProof(es256, { header: { typ: "JWT" }, claims: { htm: "GET", htu: USERINFO_URL } });
    const error = await refusal(verify(proof, { method: "GET", url: USERINFO_URL, accessToken: "t" }, policy));
    const response = await rendered(error);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'DPoP realm="edge-op", error="invalid_dpop_proof", error_description="DPoP proof typ must be dpop+jwt", algs="ES256 PS256 EdDSA"',
    );
  });
});
