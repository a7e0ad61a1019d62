/** PAR (RFC 9126) and the authorization code flow, under /master: every redirect, page and cookie follows the base path. */
import { createLocalJWKSet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  authorizeAs,
  Browser,
  basic,
  call,
  ISSUER,
  ORIGIN,
  pkce,
  postForm,
  registerAlice,
  registerClient,
} from "./helpers";

const REDIRECT_URI = "https://web.bank.example/callback";
let client: Awaited<ReturnType<typeof registerClient>>;

beforeAll(async () => {
  client = await registerClient({
    client_id: "bank-web",
    grant_types: ["authorization_code"],
    redirect_uris: [REDIRECT_URI],
    scope: "openid profile email",
  });
  await registerAlice();
});

describe("PAR and the code flow under /master", () => {
  it("pushes, signs in, consents, redirects with iss = the issuer, and exchanges the code", async () => {
    const { verifier, challenge } = await pkce();
    const state = crypto.randomUUID();
    const pushed = await postForm(
      "/master/par",
      {
        response_type: "code",
        client_id: client.client_id,
        redirect_uri: REDIRECT_URI,
        scope: "openid profile email",
        state,
        code_challenge: challenge,
        code_challenge_method: "S256",
      },
      basic(client.client_id, client.secret),
    );
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };

    const browser = new Browser();
    const authorizeUrl = `/master/authorize?${new URLSearchParams({ client_id: client.client_id, request_uri })}`;
    // The sign-in page is the provider's, under its base path.
    const first = await new Browser().get(authorizeUrl);
    expect(new URL(first.headers.get("location") ?? "", ORIGIN).pathname).toBe("/master/signin");
    const consent = await authorizeAs(browser, authorizeUrl);
    const callback = new URL(consent.headers.get("location") ?? "");
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get("state")).toBe(state);
    // RFC 9207: the issuer, base path included.
    expect(callback.searchParams.get("iss")).toBe(ISSUER);
    expect([...browser.cookies.values()].every((c) => c.path === "/master")).toBe(true);
    expect([...browser.cookies.keys()].some((name) => name.startsWith("__Host-"))).toBe(false);

    const token = await postForm(
      "/master/token",
      {
        grant_type: "authorization_code",
        code: callback.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
      basic(client.client_id, client.secret),
    );
    expect(token.status).toBe(200);
    const { id_token, access_token } = (await token.json()) as { id_token: string; access_token: string };
    const keys = createLocalJWKSet(await (await call("/master/jwks")).json());
    const { payload } = await jwtVerify(id_token, keys, { issuer: ISSUER, audience: client.client_id });
    expect(payload.sub).toBe(ALICE.sub);

    const userinfo = await call("/master/userinfo", { headers: { authorization: `Bearer ${access_token}` } });
    expect(await userinfo.json()).toMatchObject({ sub: ALICE.sub, email: "alice@bank.example" });
  });

  it("spends the request_uri: the same authorization request cannot be answered twice (RFC 9126 §4)", async () => {
    const { challenge } = await pkce();
    const pushed = await postForm(
      "/master/par",
      {
        response_type: "code",
        client_id: client.client_id,
        redirect_uri: REDIRECT_URI,
        scope: "openid",
        code_challenge: challenge,
        code_challenge_method: "S256",
      },
      basic(client.client_id, client.secret),
    );
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const authorizeUrl = `/master/authorize?${new URLSearchParams({ client_id: client.client_id, request_uri })}`;
    const browser = new Browser();
    const first = await authorizeAs(browser, authorizeUrl);
    expect(new URL(first.headers.get("location") ?? "").searchParams.get("code")).toBeTruthy();

    const again = await browser.get(authorizeUrl);
    expect(again.headers.get("location") ?? "").not.toContain("code=");
    expect(again.status).toBe(400);
  });
});
