/**
 * The `acr` claim states the authentication context class the user's authentication actually
 * met (OpenID Connect Core §2, §3.1.2.1; CIBA §7.1): `acr_values` is a voluntary request, so a
 * class that was asked for but not met is left out of the tokens, never asserted. Checked at
 * /bc-authorize (CIBA) and at /authorize (code flow), in the ID token the client receives.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ACR_CLASSES, ACR_PASSWORD, satisfiedAcr } from "../src/authn/acr";
import type { CompleteLoginRequestInput } from "../src/ciba/interaction-service";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, postForm } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "acr-secret-0123456789";
const CALLBACK = "https://acr.example/cb";
const HIGH = "urn:example:loa:high-assurance";
let nora = "";

beforeAll(async () => {
  await registerClient({
    client_id: "acr-kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
  });
  await registerClient({
    client_id: "acr-web",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
  });
  nora = await registerUser({ username: "nora", password: "nora-password" });
});

/** A CIBA request for nora, approved after a password sign-in, redeemed at /token. */
async function cibaIdToken(
  acrValues: string | undefined,
  completion: Partial<CompleteLoginRequestInput> = {},
  signedIn: { amr?: string[] } = { amr: ["pwd"] },
) {
  const params: Record<string, string> = { scope: "openid", login_hint: "nora" };
  if (acrValues !== undefined) params.acr_values = acrValues;
  const started = await backchannel("acr-kiosk", SECRET, params);
  expect(started.status).toBe(200);
  const { internalId } = await requestFor(started.body.auth_req_id);
  const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
    { internalId, scopesValuesConsented: ["openid"], ...completion },
    { subject: nora, sessionId: "s1", authTime: Math.floor(Date.now() / 1000), ...signedIn },
  );
  expect(outcome.ok).toBe(true);
  const { status, body } = await poll("acr-kiosk", SECRET, started.body.auth_req_id);
  expect(status).toBe(200);
  return {
    idToken: decodeJwt(body.id_token as string),
    accessToken: decodeJwt(body.access_token as string),
  };
}

/** A code flow for a fresh user who signs in with a password; the ID token from /token. */
async function codeFlowIdToken(acrValues: string | undefined) {
  const { verifier, challenge } = await pkce();
  const query = new URLSearchParams({
    client_id: "acr-web",
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st",
  });
  if (acrValues !== undefined) query.set("acr_values", acrValues);
  const username = `acr-${crypto.randomUUID().slice(0, 8)}`;
  await registerUser({ username, password: `${username}-password` });
  const response = await walk(new Browser(), `${ISSUER}/authorize?${query}`, {
    username,
    password: `${username}-password`,
  });
  expect(response.status).toBe(303);
  const code = new URL(response.headers.get("location") ?? "").searchParams.get("code") ?? "";
  expect(code).not.toBe("");
  const { status, body } = await jsonOf<Record<string, string>>(
    await postForm(
      "/token",
      { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
      basic("acr-web", SECRET),
    ),
  );
  expect(status).toBe(200);
  return decodeJwt(body.id_token as string);
}

describe("the classes edge-op can satisfy (src/authn/acr.ts)", () => {
  it("Discovery §3 acr_values_supported lists exactly the classes some authentication can meet", async () => {
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.acr_values_supported).toEqual(ACR_CLASSES.map((c) => c.value));
    expect(body.acr_values_supported).toContain(ACR_PASSWORD);
  });

  it("picks the first requested class the performed authentication meets, in the client's order", () => {
    expect(satisfiedAcr([HIGH, ACR_PASSWORD], ["pwd"])).toBe(ACR_PASSWORD);
    expect(satisfiedAcr([HIGH], ["pwd"])).toBeUndefined();
    expect(satisfiedAcr([ACR_PASSWORD], [])).toBeUndefined();
    expect(satisfiedAcr([], ["pwd"])).toBeUndefined();
  });
});

describe("CIBA §7.1 acr_values at /bc-authorize: acr is what the authentication met", () => {
  it("omits acr when the requested class was not met by a password sign-in (never asserts it)", async () => {
    const { idToken, accessToken } = await cibaIdToken(HIGH);
    expect(idToken.acr).toBeUndefined();
    expect(accessToken.acr).toBeUndefined();
    expect(idToken.amr).toEqual(["pwd"]);
  });

  it("states the first requested class that was met, not merely the first requested", async () => {
    const { idToken, accessToken } = await cibaIdToken(`${HIGH} ${ACR_PASSWORD}`);
    expect(idToken.acr).toBe(ACR_PASSWORD);
    expect(accessToken.acr).toBe(ACR_PASSWORD);
  });

  it("has no acr when no acr_values were requested", async () => {
    expect((await cibaIdToken(undefined)).idToken.acr).toBeUndefined();
  });

  it("accepts (does not refuse) a request naming only classes edge-op cannot meet: acr_values is voluntary", async () => {
    const started = await backchannel("acr-kiosk", SECRET, { scope: "openid", login_hint: "nora", acr_values: HIGH });
    expect(started.status).toBe(200);
  });

  it("asserts no class, and no amr, when the approver's authentication method is unknown (a bearer-token approval)", async () => {
    // The authenticator API's bearer callers present an access token, which says nothing of how
    // the user authenticated: nothing may be claimed on their behalf.
    const { idToken } = await cibaIdToken(ACR_PASSWORD, {}, {});
    expect(idToken.acr).toBeUndefined();
    expect(idToken.amr).toBeUndefined();
  });

  it("lets no caller of the interaction service assert a class: acr is derived from amr", async () => {
    const forged = { acr: HIGH } as Partial<CompleteLoginRequestInput>;
    expect((await cibaIdToken(HIGH, forged)).idToken.acr).toBeUndefined();
  });
});

describe("OIDC Core §3.1.2.1 acr_values at /authorize: the same rule", () => {
  it("states the requested class when the password sign-in meets it", async () => {
    const idToken = await codeFlowIdToken(`${HIGH} ${ACR_PASSWORD}`);
    expect(idToken.acr).toBe(ACR_PASSWORD);
    expect(idToken.amr).toEqual(["pwd"]);
  });

  it("omits acr when the requested class was not met", async () => {
    const idToken = await codeFlowIdToken(HIGH);
    expect(idToken.acr).toBeUndefined();
    expect(idToken.amr).toEqual(["pwd"]);
  });
});
