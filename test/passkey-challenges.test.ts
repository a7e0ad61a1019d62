/**
 * A WebAuthn challenge is used once (W3C WebAuthn L3 §13.4.3, "Cryptographic Challenges": the
 * server verifies the challenge it issued; issue 16: "consumed exactly once, also under
 * concurrency"). The sealed challenge cookie (src/webauthn/challenge.ts) proves a challenge is
 * ours, for this purpose and binding, and unexpired; it cannot prove it was not used: an
 * assertion captured with its cookie could be sent again, or twice at once. So the challenge is
 * claimed in a Durable Object (ReplayGuard) before the assertion is accepted, and of several
 * verifications of one challenge exactly one succeeds.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { beforeAll, describe, expect, it } from "vitest";
import { pkce } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { registerClient } from "./helpers/fixtures";
import { ISSUER } from "./helpers/http";
import { configValue, csrfOfConfig, newPasswordUser, pageJson, sessionWithPasskey } from "./helpers/passkey-session";
import { SoftAuthenticator } from "./helpers/soft-authenticator";

const CALLBACK = "https://once.example/cb";
const ATTEMPTS = 4;

beforeAll(async () => {
  await registerClient({
    client_id: "once-web",
    client_secret: "once-web-secret-0123456789",
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid profile",
  });
});

/** A browser on the sign-in page that holds a sign-in challenge cookie, and the authenticator's answer. */
async function signInAssertion(authenticator: SoftAuthenticator) {
  const phone = new Browser();
  const csrf = csrfOfConfig(await (await phone.get("/signin?return_to=/ciba")).text());
  const options = (await (
    await pageJson(phone, "/signin/passkey/options", csrf)
  ).json()) as PublicKeyCredentialRequestOptionsJSON;
  const response = await authenticator.authenticate(options, ISSUER);
  return { phone, csrf, response, cookies: new Map(phone.cookies) };
}

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort();

describe("W3C WebAuthn §13.4.3: a challenge completes one ceremony", () => {
  it("sign-in: the same assertion and challenge cookie sent several times at once signs in exactly once", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("once");
    await sessionWithPasskey(user.username, authenticator);
    const { phone, csrf, response } = await signInAssertion(authenticator);
    const answers = await Promise.all(
      Array.from({ length: ATTEMPTS }, () => pageJson(phone, "/signin/passkey", csrf, { response })),
    );
    expect(statuses(answers).filter((s) => s === 200)).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
  });

  it("sign-in: the cookie kept and sent again after a successful sign-in is refused", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("once");
    await sessionWithPasskey(user.username, authenticator);
    const { phone, csrf, response, cookies } = await signInAssertion(authenticator);
    expect((await pageJson(phone, "/signin/passkey", csrf, { response })).status).toBe(200);
    // An attacker who captured the request replays it, cookie and all.
    const attacker = new Browser();
    for (const [name, value] of cookies) attacker.cookies.set(name, value);
    const replay = await pageJson(attacker, "/signin/passkey", csrf, { response });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: "invalid_request" });
  });

  it("step-up at /authorize: one assertion posted several times at once gives exactly one code", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newPasswordUser("once");
    const browser = await sessionWithPasskey(user.username, authenticator);
    const { challenge } = await pkce();
    const path = `/authorize?${new URLSearchParams({
      client_id: "once-web",
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid profile",
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: "s",
      acr_values: "phr",
    })}`;
    const html = await (await browser.get(path)).text();
    const csrf = Browser.csrfOf(html);
    const options = (await (
      await pageJson(browser, configValue(html, "step-up-options"), csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const assertion = JSON.stringify(await authenticator.authenticate(options, ISSUER));
    const answers = await Promise.all(
      Array.from({ length: ATTEMPTS }, () =>
        browser.post(path, { csrf, decision: "approve", passkey_assertion: assertion }),
      ),
    );
    const codes = answers.filter((a) => new URL(a.headers.get("location") ?? "about:").searchParams.has("code"));
    expect(codes).toHaveLength(1);
    expect(statuses(answers).filter((s) => s === 403)).toHaveLength(ATTEMPTS - 1);
  });

  it("registration: one attestation posted several times at once stores one passkey", async () => {
    const user = await newPasswordUser("once");
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const csrf = csrfOfConfig(await (await browser.get("/passkeys")).text());
    const options = (await (
      await pageJson(browser, "/passkeys/register/options", csrf)
    ).json()) as PublicKeyCredentialCreationOptionsJSON;
    const response = await new SoftAuthenticator().register(options, ISSUER);
    const answers = await Promise.all(
      Array.from({ length: ATTEMPTS }, () => pageJson(browser, "/passkeys/register", csrf, { response })),
    );
    expect(statuses(answers).filter((s) => s === 201)).toHaveLength(1);
    expect(statuses(answers).filter((s) => s >= 400 && s < 500)).toHaveLength(ATTEMPTS - 1);
  });
});
