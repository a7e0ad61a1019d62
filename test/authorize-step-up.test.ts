/**
 * Step-up at /authorize (issue 16): an authorization request that asks for phishing-resistant
 * authentication (`phr`, OpenID EAP ACR Values 1.0 §2), in `acr_values` or as an essential `acr`
 * claim (OpenID Connect Core §5.5.1.1), can only be approved after a passkey assertion with
 * user verification made in that same interaction, on the consent page. The ID token then
 * carries acr "phr" and the passkey's RFC 8176 amr. Without a passkey the user sees why, and the
 * client hears `unmet_authentication_requirements` (OpenID Connect Core Unmet Authentication
 * Requirements 1.0 §1); with prompt=none it hears `interaction_required` (Core §3.1.2.6).
 */
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { local, pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { registerClient } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, postForm } from "./helpers/http";
import { configValue, csrfOfConfig, newPasswordUser, pageJson, sessionWithPasskey } from "./helpers/passkey-session";
import { SoftAuthenticator } from "./helpers/soft-authenticator";

const SECRET = "phr-web-secret-0123456789";
const CALLBACK = "https://phr-web.example/cb";

beforeAll(async () => {
  await registerClient({
    client_id: "phr-web",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid profile",
  });
});

async function authorizeQuery(extra: Record<string, string>) {
  const { verifier, challenge } = await pkce();
  const query = new URLSearchParams({
    client_id: "phr-web",
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid profile",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: crypto.randomUUID(),
    ...extra,
  });
  return { path: `/authorize?${query}`, verifier };
}

const PHR = { acr_values: "phr" };
const ESSENTIAL_PHR = { claims: JSON.stringify({ id_token: { acr: { essential: true, value: "phr" } } }) };

/** The consent page's step-up: options from the page's URL, the authenticator's assertion, the form. */
async function approveWithPasskey(browser: Browser, path: string, authenticator: SoftAuthenticator) {
  const page = await browser.get(path);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain("Approve with passkey");
  const csrf = Browser.csrfOf(html);
  const optionsResponse = await pageJson(browser, configValue(html, "step-up-options"), csrf);
  expect(optionsResponse.status).toBe(200);
  const options = (await optionsResponse.json()) as PublicKeyCredentialRequestOptionsJSON;
  const assertion = await authenticator.authenticate(options, ISSUER);
  const answer = await browser.post(path, { csrf, decision: "approve", passkey_assertion: JSON.stringify(assertion) });
  return { answer, assertion, csrf };
}

async function idTokenFor(answer: Response, verifier: string) {
  expect(answer.status).toBe(303);
  const location = new URL(answer.headers.get("location") ?? "");
  expect(location.origin + location.pathname).toBe(CALLBACK);
  const code = location.searchParams.get("code") ?? "";
  expect(code).not.toBe("");
  const { status, body } = await jsonOf<Record<string, string>>(
    await postForm(
      "/token",
      { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
      basic("phr-web", SECRET),
    ),
  );
  expect(status).toBe(200);
  return decodeJwt(String(body.id_token));
}

describe("EAP ACR Values §2 phr at /authorize: approval needs a passkey assertion in this interaction", () => {
  it("a password-only session cannot get a code for a phr request (acr_values): 403, nothing sent to the client", async () => {
    const user = await newPasswordUser("phr");
    const { path } = await authorizeQuery(PHR);
    const response = await walk(new Browser(), `${ISSUER}${path}`, user);
    expect(response.status).toBe(403);
    expect(response.headers.get("location")).toBeNull();
  });

  it("OIDC Core §5.5.1.1: an essential acr claim of phr needs the passkey just the same", async () => {
    const user = await newPasswordUser("phr");
    const { path } = await authorizeQuery(ESSENTIAL_PHR);
    const response = await walk(new Browser(), `${ISSUER}${path}`, user);
    expect(response.status).toBe(403);
    expect(response.headers.get("location")).toBeNull();
  });

  it("a session that signed in with a passkey earlier still confirms with it at approval", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("phr");
    const browser = await sessionWithPasskey(user.username, authenticator);
    const { path } = await authorizeQuery(PHR);
    const page = await (await browser.get(path)).text();
    const answer = await browser.post(path, { csrf: Browser.csrfOf(page), decision: "approve" });
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain("confirm with your passkey");
  });

  it("a passkey assertion made for this request approves it: ID token acr phr, amr pop user mfa (RFC 8176)", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("phr");
    const browser = await sessionWithPasskey(user.username, authenticator);
    const { path, verifier } = await authorizeQuery(PHR);
    const { answer } = await approveWithPasskey(browser, path, authenticator);
    const claims = await idTokenFor(answer, verifier);
    expect(claims.acr).toBe("phr");
    expect(claims.amr).toEqual(["pop", "user", "mfa"]);
  });

  it("remembered consent does not skip the step-up: the next phr request shows the consent page again", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("phr");
    const browser = await sessionWithPasskey(user.username, authenticator);
    const first = await authorizeQuery(PHR);
    expect((await approveWithPasskey(browser, first.path, authenticator)).answer.status).toBe(303);
    // Without phr the remembered consent answers at once.
    const plain = await authorizeQuery({});
    expect((await browser.get(plain.path)).status).toBe(303);
    const second = await authorizeQuery(ESSENTIAL_PHR);
    const page = await browser.get(second.path);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Approve with passkey");
  });

  it("an assertion made for one authorization request does not approve another", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("phr");
    const browser = await sessionWithPasskey(user.username, authenticator);
    const first = await authorizeQuery(PHR);
    const html = await (await browser.get(first.path)).text();
    const csrf = Browser.csrfOf(html);
    const options = (await (
      await pageJson(browser, configValue(html, "step-up-options"), csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const assertion = await authenticator.authenticate(options, ISSUER);
    const other = await authorizeQuery(PHR);
    await browser.get(other.path);
    const answer = await browser.post(other.path, {
      csrf,
      decision: "approve",
      passkey_assertion: JSON.stringify(assertion),
    });
    expect(answer.status).toBe(403);
    expect(answer.headers.get("location")).toBeNull();
  });

  it("a user without a passkey gets a clear page; going back sends unmet_authentication_requirements", async () => {
    const user = await newPasswordUser("phr");
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const { path } = await authorizeQuery(PHR);
    const page = await browser.get(path);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("no passkey");
    expect(html).not.toContain('value="approve"');
    const answer = await browser.post(path, { csrf: Browser.csrfOf(html), decision: "unmet" });
    expect(answer.status).toBe(303);
    const location = new URL(answer.headers.get("location") ?? "");
    expect(location.searchParams.get("error")).toBe("unmet_authentication_requirements");
    expect(location.searchParams.get("iss")).toBe(ISSUER);
  });

  it("denying needs no passkey: access_denied", async () => {
    const user = await newPasswordUser("phr");
    const { path } = await authorizeQuery(PHR);
    const answer = await walk(new Browser(), `${ISSUER}${path}`, user, "deny");
    expect(answer.status).toBe(303);
    expect(new URL(answer.headers.get("location") ?? "").searchParams.get("error")).toBe("access_denied");
  });

  it("OIDC Core §3.1.2.6: prompt=none with phr is interaction_required (the step-up needs the user)", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("phr");
    const browser = await sessionWithPasskey(user.username, authenticator);
    const { path } = await authorizeQuery({ ...PHR, prompt: "none" });
    const answer = await browser.get(path);
    expect(answer.status).toBe(303);
    expect(new URL(answer.headers.get("location") ?? "").searchParams.get("error")).toBe("interaction_required");
  });

  it("the step-up options need the session's CSRF token and a passkey of this user", async () => {
    const user = await newPasswordUser("phr");
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const { path } = await authorizeQuery(PHR);
    const optionsPath = local(`${ISSUER}${path.replace("/authorize?", "/authorize/passkey-options?")}`);
    const csrf = Browser.csrfOf(await (await browser.get(path)).text());
    expect((await pageJson(browser, optionsPath, "wrong")).status).toBe(403);
    const none = await pageJson(browser, optionsPath, csrf);
    expect(none.status).toBe(403);
    expect(await none.json()).toMatchObject({ error: "invalid_request" });
  });
});

describe("OIDC Core §5.5 claims parameter: the essential acr", () => {
  it("an essential acr naming only classes edge-op cannot meet is unmet_authentication_requirements", async () => {
    const user = await newPasswordUser("phr");
    const { path } = await authorizeQuery({
      claims: JSON.stringify({ id_token: { acr: { essential: true, values: ["urn:example:loa:4"] } } }),
    });
    const answer = await walk(new Browser(), `${ISSUER}${path}`, user);
    expect(answer.status).toBe(303);
    const location = new URL(answer.headers.get("location") ?? "");
    expect(location.searchParams.get("error")).toBe("unmet_authentication_requirements");
  });

  it("§5.5.1.1: an essential acr the authentication did not meet is a failed authentication, not a code without acr", async () => {
    // A passkey sign-in (amr pop user mfa) does not meet urn:edge-op:acr:pwd (amr pwd).
    const user = await newPasswordUser("phr");
    const authenticator = new SoftAuthenticator();
    await sessionWithPasskey(user.username, authenticator);
    const phone = new Browser();
    const csrf = csrfOfConfig(await (await phone.get("/signin")).text());
    const options = (await (
      await pageJson(phone, "/signin/passkey/options", csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const assertion = await authenticator.authenticate(options, ISSUER);
    expect((await pageJson(phone, "/signin/passkey", csrf, { response: assertion })).status).toBe(200);
    const { path } = await authorizeQuery({
      claims: JSON.stringify({ id_token: { acr: { essential: true, value: "urn:edge-op:acr:pwd" } } }),
    });
    const answer = await walk(phone, `${ISSUER}${path}`, user);
    expect(answer.status).toBe(303);
    const location = new URL(answer.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe(CALLBACK);
    expect(location.searchParams.get("code")).toBeNull();
    expect(location.searchParams.get("error")).toBe("unmet_authentication_requirements");
  });

  it("§5.5.1.1: an essential acr the password sign-in met is the ID token's acr, even after a voluntary one", async () => {
    const user = await newPasswordUser("phr");
    const { path, verifier } = await authorizeQuery({
      acr_values: "urn:example:loa:4",
      claims: JSON.stringify({ id_token: { acr: { essential: true, values: ["urn:edge-op:acr:pwd"] } } }),
    });
    const idToken = await idTokenFor(await walk(new Browser(), `${ISSUER}${path}`, user), verifier);
    expect(idToken.acr).toBe("urn:edge-op:acr:pwd");
    expect(idToken.amr).toEqual(["pwd"]);
  });

  it("a claims parameter that is not a JSON object is invalid_request", async () => {
    const user = await newPasswordUser("phr");
    const { path } = await authorizeQuery({ claims: "{not json" });
    const answer = await walk(new Browser(), `${ISSUER}${path}`, user);
    expect(answer.status).toBe(303);
    expect(new URL(answer.headers.get("location") ?? "").searchParams.get("error")).toBe("invalid_request");
  });
});
