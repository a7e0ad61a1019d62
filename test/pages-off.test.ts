/**
 * A provider without edge-op's pages (createProvider's `pages: false`): an integrator with its
 * own sign-in and consent pages answers authorization requests through
 * `provider.interaction(env).authorization`, as Duende's sample pages use its interaction
 * service. /authorize still checks every request; the integrator's page gets it by `return_to`,
 * which comes back from the browser and is checked again from scratch.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createProvider } from "../src/index";
import { pkce } from "./helpers/authorize";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER } from "./helpers/http";

const own = createProvider<Cloudflare.Env>({ basePath: "/own-pages", pages: false, interactionUrl: "/login" });
const OWN_ISSUER = `${ISSUER}/own-pages`;
const SECRET = "own-pages-secret-0123456789";
const CALLBACK = "https://own.example/cb";
let dana = "";

beforeAll(async () => {
  await registerClient({
    client_id: "own-app",
    client_name: "Own pages app",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid profile",
  });
  dana = await registerUser({ username: "dana", password: "dana-password" });
});

function get(path: string) {
  return own.fetch(new Request(`${ISSUER}${path}`, { redirect: "manual" }), env);
}

async function authorizeRequest(extra: Record<string, string> = {}) {
  const { verifier, challenge } = await pkce();
  const query = new URLSearchParams({
    client_id: "own-app",
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid profile",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st",
    ...extra,
  });
  const response = await get(`/own-pages/authorize?${query}`);
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get("location") ?? "");
  expect(`${location.origin}${location.pathname}`).toBe(`${ISSUER}/login`);
  return { returnTo: location.searchParams.get("return_to") ?? "", verifier };
}

describe("pages: false", () => {
  it("serves no sign-in or CIBA pages, and sends /authorize to the interaction URL with return_to", async () => {
    expect((await get("/own-pages/signin")).status).toBe(404);
    expect((await get("/own-pages/ciba")).status).toBe(404);
    const { returnTo } = await authorizeRequest();
    expect(returnTo).toMatch(/^\/own-pages\/authorize\?client_id=own-app&/);
  });

  it("shows the request to the integrator's page, then answers it with a code for the user it signed in", async () => {
    const { returnTo, verifier } = await authorizeRequest();
    const interaction = own.interaction(env).authorization;
    expect(await interaction.getAuthorizationRequest(returnTo)).toMatchObject({
      ok: true,
      clientId: "own-app",
      clientName: "Own pages app",
      scopes: ["openid", "profile"],
    });
    const done = await interaction.completeAuthorizationRequest(returnTo, {
      approve: { subject: dana, authTime: Math.floor(Date.now() / 1000), amr: ["pwd"] },
    });
    if (!done.ok) throw new Error(done.description);
    const redirect = new URL(done.redirectTo);
    expect(redirect.searchParams.get("state")).toBe("st");
    expect(redirect.searchParams.get("iss")).toBe(OWN_ISSUER);
    const token = await own.fetch(
      new Request(`${ISSUER}/own-pages/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...basic("own-app", SECRET) },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code: redirect.searchParams.get("code") ?? "",
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        }),
      }),
      env,
    );
    expect(token.status).toBe(200);
    const { id_token } = (await token.json()) as { id_token: string };
    expect(decodeJwt(id_token)).toMatchObject({ iss: OWN_ISSUER, sub: dana, aud: "own-app" });
  });

  it("sends a denial to the client as access_denied, with state (RFC 6749 §4.1.2.1)", async () => {
    const { returnTo } = await authorizeRequest();
    const done = await own
      .interaction(env)
      .authorization.completeAuthorizationRequest(returnTo, { error: "access_denied" });
    if (!done.ok) throw new Error(done.description);
    const redirect = new URL(done.redirectTo);
    expect(redirect.searchParams.get("error")).toBe("access_denied");
    expect(redirect.searchParams.get("state")).toBe("st");
    expect(redirect.searchParams.has("code")).toBe(false);
  });

  it("holds the user's sign-in to max_age: an older one sends login_required to the client", async () => {
    const { returnTo } = await authorizeRequest({ max_age: "60" });
    const done = await own.interaction(env).authorization.completeAuthorizationRequest(returnTo, {
      approve: { subject: dana, authTime: Math.floor(Date.now() / 1000) - 3600, amr: ["pwd"] },
    });
    if (!done.ok) throw new Error(done.description);
    expect(new URL(done.redirectTo).searchParams.get("error")).toBe("login_required");
  });

  it("checks return_to again: another path or a forged redirect_uri is refused, never redirected", async () => {
    const interaction = own.interaction(env).authorization;
    const user = { approve: { subject: dana, authTime: Math.floor(Date.now() / 1000), amr: ["pwd"] } };
    expect(await interaction.completeAuthorizationRequest("/own-pages/token?client_id=own-app", user)).toMatchObject({
      ok: false,
      error: "invalid_request",
    });
    const { returnTo } = await authorizeRequest();
    const forged = returnTo.replace(encodeURIComponent(CALLBACK), encodeURIComponent("https://evil.example/cb"));
    expect(await interaction.completeAuthorizationRequest(forged, user)).toMatchObject({
      ok: false,
      error: "invalid_request",
    });
  });

  it("does not list an end_session_endpoint it does not serve (OpenID Discovery §3: what the OP supports)", async () => {
    const metadata = await (await get("/own-pages/.well-known/openid-configuration")).json<Record<string, unknown>>();
    expect(metadata.issuer).toBe(OWN_ISSUER);
    expect(metadata).not.toHaveProperty("end_session_endpoint");
    expect((await get("/own-pages/end-session")).status).toBe(404);
    // The provider with its pages lists it.
    const withPages = await (await call("/.well-known/openid-configuration")).json<Record<string, unknown>>();
    expect(withPages.end_session_endpoint).toBe(`${ISSUER}/end-session`);
  });

  it("needs an interaction URL", () => {
    expect(() => createProvider({ pages: false })).toThrow(/interactionUrl/);
  });
});
