/**
 * PAR (RFC 9126) and the authorization-code flow that consumes it, line by line of the
 * checklist (P1–P10, A1–A4), with openid-client as the relying party.
 */
import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { RegistrationError, validateClientRegistration } from "../src/clients/metadata";
import { sha256Hex } from "../src/crypto/hash";
import { local, pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "web-app-secret-0123456789";
const CALLBACK = "https://app.example/cb";
const KIM = { username: "kim", password: "kim-password" };

/** A new user: sign-in attempts are limited per username, and these tests sign in often. */
async function someone(): Promise<{ username: string; password: string }> {
  const username = `user-${crypto.randomUUID().slice(0, 8)}`;
  await registerUser({ username, password: `${username}-password` });
  return { username, password: `${username}-password` };
}
let kim = "";
const jarKeys = await clientKeyPair("ES256");

beforeAll(async () => {
  const web = {
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid profile email offline_access",
  };
  await registerClient({ client_id: "web-app", client_name: "Web shop", ...web });
  await registerClient({ client_id: "other-app", ...web });
  await registerClient({ client_id: "par-only", ...web, require_pushed_authorization_requests: true });
  await registerClient({ client_id: "busy-app", ...web });
  await registerClient({
    client_id: "jar-app",
    client_secret: undefined,
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [jarKeys.publicJwk as { kty: string }] },
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    request_object_signing_alg: "ES256",
  });
  kim = await registerUser({ ...KIM, email: "kim@example.com" });
});

const rp = (clientId = "web-app") => discoverAs(clientId, SECRET, client.ClientSecretBasic(SECRET));

async function authorizationParams(overrides: Record<string, string> = {}) {
  const { verifier, challenge } = await pkce();
  const params = {
    redirect_uri: CALLBACK,
    scope: "openid email",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...overrides,
  };
  return { params, verifier };
}

async function push(params: Record<string, string>, clientId = "web-app") {
  return jsonOf<{ request_uri: string; expires_in: number } & OAuthErrorBody>(
    await postForm("/par", params, basic(clientId, SECRET)),
  );
}

/** The expiries of rows in web-app's ReplayGuard (the PAR fence); with setTo, moves them first. */
async function fenceExpiries(...args: (string | { setTo: number })[]): Promise<(number | undefined)[]> {
  const { runInDurableObject } = await import("cloudflare:test");
  const guard = env.REPLAY_GUARD.get(env.REPLAY_GUARD.idFromName("jti:web-app"));
  const keys = args.filter((a): a is string => typeof a === "string");
  const setTo = args.find((a): a is { setTo: number } => typeof a !== "string")?.setTo;
  // A request pushed now is fenced in one key-value entry (held:par:<hash>, issue 18) that carries
  // its opening and its spending; the seen_jti keys are those of requests pushed before copies were held.
  const heldKey = (key: string) => `held:${key.replace(/^par-open:/, "par:")}`;
  return runInDurableObject(guard, (_, state) =>
    keys.map((key) => {
      const { sql, kv } = state.storage;
      const held = kv.get<{ expiresAt: number }>(heldKey(key));
      if (setTo !== undefined) {
        sql.exec("UPDATE seen_jti SET expires_at = ? WHERE jti_hash = ?", setTo, key);
        if (held) kv.put(heldKey(key), { ...held, expiresAt: setTo });
      }
      return (
        kv.get<{ expiresAt: number }>(heldKey(key))?.expiresAt ??
        sql.exec<{ expires_at: number }>("SELECT expires_at FROM seen_jti WHERE jti_hash = ?", key).toArray()[0]
          ?.expires_at
      );
    }),
  );
}

/** Moves a pushed request's expiry into the past, as if its lifetime had passed (in KV and in the fence's copy). */
async function letLifetimePass(requestUri: string, clientId = "web-app"): Promise<void> {
  const { runInDurableObject } = await import("cloudflare:test");
  const kvKey = `par:${await sha256Hex(requestUri.split(":").pop() ?? "")}`;
  const past = Math.floor(Date.now() / 1000) - 1;
  const value = JSON.parse((await env.PAR_REQUESTS.get(kvKey)) ?? "{}");
  await env.PAR_REQUESTS.put(kvKey, JSON.stringify({ ...value, expiresAtUtc: past }));
  const guard = env.REPLAY_GUARD.get(env.REPLAY_GUARD.idFromName(`jti:${clientId}`));
  await runInDurableObject(guard, (_, state) => {
    const held = state.storage.kv.get<object>(`held:${kvKey}`);
    if (held) state.storage.kv.put(`held:${kvKey}`, { ...held, openBy: past });
  });
}

async function pushed(clientId = "web-app", overrides: Record<string, string> = {}) {
  const { params, verifier } = await authorizationParams(overrides);
  const { body } = await push({ ...params, response_type: "code" }, clientId);
  const url = `/authorize?client_id=${clientId}&request_uri=${encodeURIComponent(body.request_uri)}`;
  return { url: `${ISSUER}${url}`, requestUri: body.request_uri, params, verifier };
}

function callbackOf(response: Response): URL {
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get("location") ?? "");
  expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
  return location;
}

async function exchange(code: string, verifier: string, clientId = "web-app", redirectUri = CALLBACK) {
  return jsonOf<Record<string, string> & OAuthErrorBody>(
    await postForm(
      "/token",
      { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier },
      basic(clientId, SECRET),
    ),
  );
}

describe("the whole flow with openid-client", () => {
  it("PAR → authorize → sign-in → consent → code → tokens", async () => {
    const config = await rp();
    const { params, verifier } = await authorizationParams({ scope: "openid email offline_access" });
    const url = await client.buildAuthorizationUrlWithPAR(config, params);
    expect([...url.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);

    const callback = callbackOf(await walk(new Browser(), url, KIM));
    expect(callback.searchParams.get("iss")).toBe(ISSUER);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: params.state,
      expectedNonce: params.nonce,
    });
    expect(tokens.scope).toBe("openid email offline_access");
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()).toMatchObject({ sub: kim, aud: "web-app", nonce: params.nonce, iss: ISSUER });
  });

  it("remembers consent: a second request for the same scopes skips the consent page", async () => {
    const browser = new Browser();
    const first = await pushed();
    callbackOf(await walk(browser, first.url, await someone()));
    const second = await pushed();
    const response = await browser.get(local(second.url));
    expect(callbackOf(response).searchParams.get("code")).toBeTruthy();
  });
});

describe("P1 the PAR endpoint", () => {
  it("takes POST with a form only, and requires client authentication", async () => {
    expect((await call("/par")).status).toBe(405);
    const json = await call("/par", {
      method: "POST",
      headers: { "content-type": "application/json", ...basic("web-app", SECRET) },
      body: "{}",
    });
    expect(json.status).toBe(400);
    const { params } = await authorizationParams();
    const anonymous = await postForm("/par", { ...params, response_type: "code", client_id: "web-app" });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as OAuthErrorBody).error).toBe("invalid_client");
  });
});

describe("P2 request_uri in the body", () => {
  it("is refused with invalid_request", async () => {
    const { params } = await authorizationParams();
    const { status, body } = await push({ ...params, response_type: "code", request_uri: "urn:x" });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });
});

describe("P3 validated as /authorize would", () => {
  const cases: [string, Record<string, string>, string][] = [
    [
      "an unregistered redirect_uri (reported as invalid_request)",
      { redirect_uri: "https://evil.example/cb" },
      "invalid_request",
    ],
    ["response_type token", { response_type: "token" }, "unsupported_response_type"],
    ["a scope the client may not have", { scope: "openid phone" }, "invalid_scope"],
    ["no code_challenge", { code_challenge: "" }, "invalid_request"],
    ["code_challenge_method plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["an unknown prompt", { prompt: "select_everything" }, "invalid_request"],
    ["a relative resource", { resource: "/api" }, "invalid_target"],
  ];
  for (const [what, override, error] of cases) {
    it(`refuses ${what}`, async () => {
      const { params } = await authorizationParams();
      const { status, body } = await push({ ...params, response_type: "code", ...override });
      expect(status).toBe(400);
      expect(body.error).toBe(error);
    });
  }

  it("never answers with a user-interaction error (prompt=none is fine to push)", async () => {
    const { params } = await authorizationParams({ prompt: "none" });
    expect((await push({ ...params, response_type: "code" })).status).toBe(201);
  });
});

describe("P4 success", () => {
  it("is 201 with a urn request_uri (256-bit reference) and expires_in; only the hash is stored", async () => {
    const { params } = await authorizationParams();
    const { status, body } = await push({ ...params, response_type: "code" });
    expect(status).toBe(201);
    expect(body.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
    expect(body.expires_in).toBe(60);
    const reference = body.request_uri.split(":").pop() ?? "";
    const keys = (await env.PAR_REQUESTS.list()).keys.map((k) => k.name);
    expect(keys).toContain(`par:${await sha256Hex(reference)}`);
    expect(keys.join()).not.toContain(reference);
    const raw = (await env.PAR_REQUESTS.get(`par:${await sha256Hex(reference)}`)) ?? "";
    expect(raw).not.toContain(params.state);
    expect(raw).not.toContain(params.code_challenge);
  });

  it("binds the request to the pushing client: another client cannot use it", async () => {
    const { requestUri } = await pushed("web-app");
    const response = await new Browser().get(
      `/authorize?client_id=other-app&request_uri=${encodeURIComponent(requestUri)}`,
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("invalid_request_uri");
  });
});

describe("P5 limits", () => {
  it("answers a body over the limit with 413", async () => {
    const { params } = await authorizationParams({ state: "s".repeat(20_000) });
    expect((await push({ ...params, response_type: "code" })).status).toBe(413);
  });

  it("answers a client pushing too fast (over 60 in 10 s) with 429 and Retry-After", async () => {
    const { params } = await authorizationParams();
    // The limiter counts in fixed 10 s windows; on a slow machine the pushes may straddle two,
    // so the refusal comes after at least 60 successes, not necessarily exactly 60.
    let accepted = 0;
    let refused: Response | undefined;
    while (!refused && accepted < 200) {
      const response = await postForm("/par", { ...params, response_type: "code" }, basic("busy-app", SECRET));
      if (response.status === 429) refused = response;
      else {
        expect(response.status).toBe(201);
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThanOrEqual(60);
    if (!refused) throw new Error("never limited");
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(((await refused.json()) as OAuthErrorBody).error).toBe("invalid_request");
  });
});

describe("P6 request objects at PAR", () => {
  async function requestObject(claims: Record<string, unknown>, key = jarKeys.privateKey, alg = "ES256") {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: "jar-app", response_type: "code", ...claims })
      .setProtectedHeader({ alg })
      .setIssuer("jar-app")
      .setAudience((claims.aud as string) ?? ISSUER)
      .setIssuedAt(now)
      .setNotBefore((claims.nbf as number) ?? now)
      .setExpirationTime((claims.exp as number) ?? now + 300)
      .sign(key);
  }

  async function assertion() {
    return new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("jar-app")
      .setSubject("jar-app")
      .setAudience(ISSUER)
      .setExpirationTime("1m")
      .sign(jarKeys.privateKey);
  }

  async function pushObject(request: string, extra: Record<string, string> = {}) {
    return jsonOf<{ request_uri: string } & OAuthErrorBody>(
      await postForm("/par", {
        request,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await assertion(),
        ...extra,
      }),
    );
  }

  it("accepts an object signed with the client's key and uses only its parameters", async () => {
    const { params } = await authorizationParams();
    const { status, body } = await pushObject(await requestObject(params));
    expect(status).toBe(201);
    const response = await new Browser().get(
      `/authorize?client_id=jar-app&request_uri=${encodeURIComponent(body.request_uri)}&scope=openid%20profile`,
    );
    // Sent to sign-in: the request resolved; the extra scope in the query was ignored.
    expect(response.status).toBe(303);
  });

  it("refuses other parameters beside the object in the body", async () => {
    const { params } = await authorizationParams();
    const { status, body } = await pushObject(await requestObject(params), { scope: "openid" });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses a plain pushed request from a client that registered request_object_signing_alg", async () => {
    const { params } = await authorizationParams();
    const { status } = await jsonOf(
      await postForm("/par", {
        ...params,
        response_type: "code",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await assertion(),
      }),
    );
    expect(status).toBe(400);
  });

  it("refuses a wrong key, a wrong algorithm, another client_id, a wrong aud, and a lifetime over 60 minutes", async () => {
    const { params } = await authorizationParams();
    const other = await clientKeyPair("ES256");
    const ps = await clientKeyPair("PS256");
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      await requestObject(params, other.privateKey),
      await requestObject(params, ps.privateKey, "PS256"),
      await requestObject({ ...params, client_id: "web-app" }),
      await requestObject({ ...params, aud: "https://other.example" }),
      await requestObject({ ...params, nbf: now - 10, exp: now + 3700 }),
    ];
    for (const jwt of bad) {
      const { status, body } = await pushObject(jwt);
      expect(status).toBe(400);
      expect(["invalid_request_object", "invalid_request"]).toContain(body.error);
    }
  });
});

describe("P7 /authorize with a request_uri", () => {
  it("refuses an unknown, malformed or expired request_uri with invalid_request_uri, shown not redirected", async () => {
    const unknown = `urn:ietf:params:oauth:request_uri:${"A".repeat(43)}`;
    const expired = await pushed();
    await letLifetimePass(expired.requestUri);
    for (const uri of [unknown, "urn:nope", expired.requestUri]) {
      const response = await new Browser().get(`/authorize?client_id=web-app&request_uri=${encodeURIComponent(uri)}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("invalid_request_uri");
    }
  });

  it("lets the user take longer than the lifetime to sign in and consent once /authorize has opened it", async () => {
    const { url, requestUri, verifier } = await pushed();
    const browser = new Browser();
    expect((await browser.get(local(url))).headers.get("location")).toMatch(/^\/signin/);
    await letLifetimePass(requestUri);
    const callback = callbackOf(await walk(browser, url, await someone()));
    expect((await exchange(callback.searchParams.get("code") ?? "", verifier)).status).toBe(200);
    // Spent for at least as long as it was open: the open marker cannot outlive the spent one.
    const hash = await sha256Hex(requestUri.split(":").pop() ?? "");
    const [spentUntil, openUntil] = await fenceExpiries(`par:${hash}`, `par-open:${hash}`);
    expect(spentUntil).toBeGreaterThanOrEqual(openUntil ?? Number.POSITIVE_INFINITY);
  });

  it("ends that interaction after PAR_INTERACTION_LIFETIME", async () => {
    const { url, requestUri } = await pushed();
    const browser = new Browser();
    expect((await browser.get(local(url))).status).toBe(303);
    await letLifetimePass(requestUri);
    const openKey = `par-open:${await sha256Hex(requestUri.split(":").pop() ?? "")}`;
    const [openUntil = 0] = await fenceExpiries(openKey);
    expect(openUntil - Math.floor(Date.now() / 1000)).toBeGreaterThan(890); // PAR_INTERACTION_LIFETIME, 900 s
    await fenceExpiries(openKey, { setTo: 0 });
    const response = await walk(browser, url, await someone());
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("invalid_request_uri");
  });

  it("ignores parameters outside the pushed request", async () => {
    const { url, params, verifier } = await pushed("web-app", { scope: "openid" });
    const tampered = `${url}&scope=${encodeURIComponent("openid email profile")}&redirect_uri=${encodeURIComponent("https://evil.example/")}&state=evil`;
    const callback = callbackOf(await walk(new Browser(), tampered, await someone()));
    expect(callback.searchParams.get("state")).toBe(params.state);
    const tokens = await exchange(callback.searchParams.get("code") ?? "", verifier);
    expect(tokens.body.scope).toBe("openid");
  });
});

describe("P8 one-time use", () => {
  it("allows reloads during sign-in and consent, and is spent by the authorization response", async () => {
    const { url } = await pushed("web-app", { scope: "openid profile" });
    const browser = new Browser();
    const user = await someone();
    await browser.signIn(user.username, user.password);
    expect((await browser.get(local(url))).status).toBe(200);
    expect((await browser.get(local(url))).status).toBe(200);
    callbackOf(await walk(browser, url, user));
    const reused = await browser.get(local(url));
    expect(reused.status).toBe(400);
    expect(await reused.text()).toContain("invalid_request_uri");
  });

  it("is spent by an error response too: after Deny the request cannot be approved", async () => {
    const { url } = await pushed("web-app", { scope: "openid profile", prompt: "consent" });
    const browser = new Browser();
    const denied = callbackOf(await walk(browser, url, await someone(), "deny"));
    expect(denied.searchParams.get("error")).toBe("access_denied");
    const again = await browser.get(local(url));
    expect(again.status).toBe(400);
    expect(again.headers.get("location")).toBeNull();
    expect(await again.text()).toContain("invalid_request_uri");
  });

  it("gives one authorization response to concurrent approvals of the same request", async () => {
    const { url } = await pushed("web-app", { scope: "openid profile email offline_access", prompt: "consent" });
    const browser = new Browser();
    const user = await someone();
    await browser.signIn(user.username, user.password);
    const html = await (await browser.get(local(url))).text();
    const csrf = Browser.csrfOf(html);
    const results = await Promise.all([1, 2, 3].map(() => browser.post(local(url), { csrf, decision: "approve" })));
    const codes = results.filter((r) => r.status === 303 && r.headers.get("location")?.includes("code="));
    expect(codes).toHaveLength(1);
  });
});

describe("issue 18: the PAR fence writes one key-value row per step (push, open, spend)", () => {
  const guardOf = (clientId: string) => env.REPLAY_GUARD.get(env.REPLAY_GUARD.idFromName(`jti:${clientId}`));

  it("holds the pushed copy and its fence under one key, not in a table with an index", async () => {
    const { requestUri, url } = await pushed();
    const ref = `par:${await sha256Hex(requestUri.split(":").pop() ?? "")}`;
    const { runInDurableObject } = await import("cloudflare:test");
    const stored = () =>
      runInDurableObject(guardOf("web-app"), (_, state) => ({
        held: state.storage.kv.get<{ state: string }>(`held:${ref}`)?.state,
        table: state.storage.sql
          .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'held_request'")
          .toArray().length,
      }));
    expect(await stored()).toEqual({ held: "pushed", table: 0 });
    expect((await new Browser().get(local(url))).status).toBe(303);
    expect(await stored()).toEqual({ held: "open", table: 0 });
  });

  it("a request held before issue 18 (a held_request row) is still opened, spent once, then refused", async () => {
    const { requestUri, url } = await pushed();
    const ref = `par:${await sha256Hex(requestUri.split(":").pop() ?? "")}`;
    const { runInDurableObject } = await import("cloudflare:test");
    // Moved into the old table, as the previous version held it.
    await runInDurableObject(guardOf("web-app"), (_, state) => {
      const entry = state.storage.kv.get<{ value: string; openBy: number; expiresAt: number }>(`held:${ref}`);
      state.storage.kv.delete(`held:${ref}`);
      state.storage.sql.exec(
        "CREATE TABLE IF NOT EXISTS held_request (ref_hash TEXT PRIMARY KEY, value TEXT NOT NULL, open_by INTEGER NOT NULL, state TEXT NOT NULL, expires_at INTEGER NOT NULL)",
      );
      state.storage.sql.exec(
        "INSERT INTO held_request VALUES (?, ?, ?, 'pushed', ?)",
        ref,
        entry?.value ?? "",
        entry?.openBy ?? 0,
        entry?.expiresAt ?? 0,
      );
    });
    // A new instance, as after the deploy (the old table exists from its start), and KV lagging.
    const { evictDurableObject } = await import("cloudflare:test");
    await evictDurableObject(guardOf("web-app"));
    await env.PAR_REQUESTS.delete(`par:${ref.slice(4)}`);
    const user = await someone();
    const browser = new Browser();
    callbackOf(await walk(browser, url, user));
    expect((await browser.get(local(url))).status).toBe(400);
  });
});

describe("P9 require_pushed_authorization_requests", () => {
  it("is advertised in discovery with the PAR endpoint", async () => {
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.pushed_authorization_request_endpoint).toBe(`${ISSUER}/par`);
    expect(body.require_pushed_authorization_requests).toBe(false);
  });

  it("refuses a plain authorization request from a client that requires PAR", async () => {
    const { params } = await authorizationParams();
    const query = new URLSearchParams({ ...params, client_id: "par-only", response_type: "code" });
    const response = await new Browser().get(`/authorize?${query}`);
    const location = callbackOf(response);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("state")).toBe(params.state);
  });

  it("still accepts plain requests from other clients", async () => {
    const { params, verifier } = await authorizationParams();
    const query = new URLSearchParams({ ...params, client_id: "web-app", response_type: "code" });
    const callback = callbackOf(await walk(new Browser(), `${ISSUER}/authorize?${query}`, await someone()));
    expect((await exchange(callback.searchParams.get("code") ?? "", verifier)).status).toBe(200);
  });

  it("can be required server-wide: then every client's plain request is refused and pushed ones work", async () => {
    const vars = { REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: "true" };
    const { body } = await jsonOf(await call("/.well-known/openid-configuration", undefined, vars));
    expect(body.require_pushed_authorization_requests).toBe(true);

    const { params } = await authorizationParams();
    const query = new URLSearchParams({ ...params, client_id: "web-app", response_type: "code" });
    const refused = callbackOf(await new Browser(undefined, vars).get(`/authorize?${query}`));
    expect(refused.searchParams.get("error")).toBe("invalid_request");
    expect(refused.searchParams.get("state")).toBe(params.state);

    const { url, verifier } = await pushed();
    const callback = callbackOf(await walk(new Browser(undefined, vars), url, await someone()));
    expect((await exchange(callback.searchParams.get("code") ?? "", verifier)).status).toBe(200);
  });
});

describe("P10 unregistered redirect URIs", () => {
  const OTHER = "https://app.example/other";

  it("are refused by default, even from an authenticated client at /par", async () => {
    const { params } = await authorizationParams({ redirect_uri: OTHER });
    expect((await push({ ...params, response_type: "code" })).body.error).toBe("invalid_request");
  });

  describe("with PAR_ALLOW_UNREGISTERED_REDIRECT_URI=true", () => {
    const vars = { PAR_ALLOW_UNREGISTERED_REDIRECT_URI: "true" };
    const pushWith = async (params: Record<string, string>) =>
      jsonOf<{ request_uri: string } & OAuthErrorBody>(
        await call(
          "/par",
          {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", ...basic("web-app", SECRET) },
            body: new URLSearchParams({ ...params, response_type: "code" }).toString(),
          },
          vars,
        ),
      );

    it("accept one pushed by the authenticated client: the code goes there and is exchanged with it", async () => {
      const { params, verifier } = await authorizationParams({ redirect_uri: OTHER });
      const { status, body } = await pushWith(params);
      expect(status).toBe(201);
      const url = `${ISSUER}/authorize?client_id=web-app&request_uri=${encodeURIComponent(body.request_uri)}`;
      const response = await walk(new Browser(undefined, vars), url, await someone());
      expect(response.status).toBe(303);
      const callback = new URL(response.headers.get("location") ?? "");
      expect(`${callback.origin}${callback.pathname}`).toBe(OTHER);
      const code = callback.searchParams.get("code") ?? "";
      expect((await exchange(code, verifier, "web-app", OTHER)).status).toBe(200);
    });

    it("still refuse a redirect URI that is not https or has a fragment", async () => {
      for (const redirect_uri of ["http://app.example/cb", "https://app.example/cb#frag", "javascript:alert(1)"]) {
        const { params } = await authorizationParams({ redirect_uri });
        expect((await pushWith(params)).body.error).toBe("invalid_request");
      }
    });

    it("still refuse an unregistered one in a plain authorization request: that client is not authenticated", async () => {
      const { params } = await authorizationParams({ redirect_uri: OTHER });
      const query = new URLSearchParams({ ...params, client_id: "web-app", response_type: "code" });
      const response = await new Browser(undefined, vars).get(`/authorize?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    });
  });
});

describe("A1 PKCE", () => {
  it("refuses plain (redirected as invalid_request), and a missing or wrong verifier with invalid_grant", async () => {
    const { params } = await authorizationParams({ code_challenge_method: "plain" });
    const query = new URLSearchParams({ ...params, client_id: "web-app", response_type: "code" });
    expect(callbackOf(await new Browser().get(`/authorize?${query}`)).searchParams.get("error")).toBe(
      "invalid_request",
    );

    const { url, verifier } = await pushed();
    const code = callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("code") ?? "";
    const wrong = await exchange(code, client.randomPKCECodeVerifier());
    expect(wrong.body.error).toBe("invalid_grant");
    const missing = await jsonOf<OAuthErrorBody>(
      await postForm(
        "/token",
        { grant_type: "authorization_code", code, redirect_uri: CALLBACK },
        basic("web-app", SECRET),
      ),
    );
    expect(missing.body.error).toBe("invalid_grant");
    // A failed verifier check does not use the code up for its rightful holder.
    expect((await exchange(code, verifier)).status).toBe(200);
  });
});

describe("A2 codes", () => {
  it("are single use: reuse is invalid_grant and revokes the tokens issued from the code", async () => {
    const { url, verifier } = await pushed("web-app", { scope: "openid offline_access" });
    const code = callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("code") ?? "";
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    const userinfo = () => call("/userinfo", { headers: { authorization: `Bearer ${first.body.access_token}` } });
    expect((await userinfo()).status).toBe(200);

    const second = await exchange(code, verifier);
    expect(second.body.error).toBe("invalid_grant");
    const refused = await userinfo();
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as OAuthErrorBody).error_description).toMatch(/revoked/);
    const refresh = await jsonOf<OAuthErrorBody>(
      await postForm(
        "/token",
        { grant_type: "refresh_token", refresh_token: first.body.refresh_token ?? "" },
        basic("web-app", SECRET),
      ),
    );
    expect(refresh.body.error).toBe("invalid_grant");
  });

  it("are exchanged once under concurrency", async () => {
    const { url, verifier } = await pushed();
    const code = callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("code") ?? "";
    const results = await Promise.all([1, 2, 3, 4].map(() => exchange(code, verifier)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("are bound to the client and the redirect_uri", async () => {
    const { url, verifier } = await pushed();
    const code = callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("code") ?? "";
    expect((await exchange(code, verifier, "other-app")).body.error).toBe("invalid_grant");
    expect((await exchange(code, verifier, "web-app", "https://app.example/other")).body.error).toBe("invalid_grant");
    expect((await exchange(code, verifier)).status).toBe(200);
  });

  it("live at most 60 seconds", async () => {
    const { url } = await pushed();
    const code = callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("code") ?? "";
    const { runInDurableObject } = await import("cloudflare:test");
    const stub = env.AUTHORIZATION_CODES.get(env.AUTHORIZATION_CODES.idFromName(await sha256Hex(code)));
    // The code's one key of the key-value API (issue 18).
    const expiresAt = await runInDurableObject(
      stub,
      (_i, state) => (state.storage.kv.get("code") as { record: { expiresAt: number } }).record.expiresAt,
    );
    expect(expiresAt - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);
  });
});

describe("A3 iss in every authorization response (RFC 9207)", () => {
  it("is on success and on error redirects, and advertised", async () => {
    const { url } = await pushed();
    expect(callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("iss")).toBe(ISSUER);
    const denied = await pushed("web-app", { prompt: "consent" });
    const error = callbackOf(await walk(new Browser(), denied.url, await someone(), "deny"));
    expect(error.searchParams.get("error")).toBe("access_denied");
    expect(error.searchParams.get("iss")).toBe(ISSUER);
    expect(error.searchParams.get("state")).toBe(denied.params.state);
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.authorization_response_iss_parameter_supported).toBe(true);
  });
});

describe("registered redirect URIs", () => {
  const registration = (redirect_uri: string) => () =>
    validateClientRegistration(
      {
        client_id: "reg-redirect",
        client_name: "",
        client_secret: SECRET,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["authorization_code"],
        redirect_uris: [redirect_uri],
        scope: "openid",
        backchannel_user_code_parameter: false,
        require_pushed_authorization_requests: false,
      },
      ["openid"],
    );

  it("are https, http on a loopback host, or a native app's private-use scheme", () => {
    for (const uri of [
      "https://app.example/cb",
      "http://localhost:3000/callback",
      "http://127.0.0.1/cb",
      "com.example.app:/cb",
    ]) {
      expect(registration(uri), uri).not.toThrow();
    }
  });

  it("are never plain http to another host, relative, or with a fragment", () => {
    for (const uri of ["http://app.example/cb", "/cb", "https://app.example/cb#x", "javascript:alert(1)"]) {
      expect(registration(uri), uri).toThrow(RegistrationError);
    }
  });
});

describe("A4 errors that cannot be redirected", () => {
  it("are shown to the user for an unknown client or an unregistered redirect_uri", async () => {
    const { params } = await authorizationParams();
    const unknownClient = new URLSearchParams({ ...params, client_id: "nobody", response_type: "code" });
    const badRedirect = new URLSearchParams({
      ...params,
      client_id: "web-app",
      response_type: "code",
      redirect_uri: "https://evil.example/",
    });
    for (const query of [unknownClient, badRedirect, new URLSearchParams({ response_type: "code" })]) {
      const response = await new Browser().get(`/authorize?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(response.headers.get("content-type")).toContain("text/html");
    }
  });
});

describe("prompt and max_age", () => {
  it("prompt=none without a session redirects login_required; without consent, consent_required", async () => {
    const noSession = await pushed("web-app", { prompt: "none" });
    const first = callbackOf(await new Browser().get(local(noSession.url)));
    expect(first.searchParams.get("error")).toBe("login_required");
    const browser = new Browser();
    const user = await someone();
    await browser.signIn(user.username, user.password);
    const noConsent = await pushed("web-app", { prompt: "none", scope: "openid profile email offline_access" });
    const second = callbackOf(await browser.get(local(noConsent.url)));
    expect(second.searchParams.get("error")).toBe("consent_required");
  });

  it("prompt=login asks for the password again, then continues", async () => {
    const browser = new Browser();
    const user = await someone();
    await browser.signIn(user.username, user.password);
    const { url } = await pushed("web-app", { prompt: "login" });
    const response = await browser.get(local(url));
    expect(response.headers.get("location")).toMatch(/^\/signin\?.*prompt=login/);
    const form = await browser.get(response.headers.get("location") ?? "");
    expect(form.status).toBe(200);
    expect(callbackOf(await walk(browser, url, user)).searchParams.get("code")).toBeTruthy();
  });

  it("max_age=0 asks for the password again", async () => {
    const browser = new Browser();
    const user = await someone();
    await browser.signIn(user.username, user.password);
    await new Promise((r) => setTimeout(r, 1100));
    const { url } = await pushed("web-app", { max_age: "0" });
    const response = await browser.get(local(url));
    expect(response.headers.get("location")).toMatch(/^\/signin/);
  });

  it("puts nonce and auth_time into the ID token", async () => {
    const { url, verifier, params } = await pushed();
    const code = callbackOf(await walk(new Browser(), url, await someone())).searchParams.get("code") ?? "";
    const { body } = await exchange(code, verifier);
    const idToken = decodeJwt(body.id_token ?? "");
    expect(idToken.nonce).toBe(params.nonce);
    expect(typeof idToken.auth_time).toBe("number");
    expect(typeof idToken.sid).toBe("string");
  });
});
