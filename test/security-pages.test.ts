/**
 * Issue 12, the browser side of /authorize: the sign-in detour's `return_to` (built from the
 * authorization request's query) brings the user back to the same request, keeps to this site,
 * and a request too long to carry through sign-in is refused where the client sees it instead
 * of being dropped after the password.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { pkce } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { registerClient, registerUser } from "./helpers/fixtures";
import { ISSUER } from "./helpers/http";

const CALLBACK = "https://app.example/cb";

beforeAll(async () => {
  await registerClient({
    client_id: "return-app",
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid email",
  });
});

async function someone() {
  const username = `user-${crypto.randomUUID().slice(0, 8)}`;
  await registerUser({ username, password: `${username}-password` });
  return { username, password: `${username}-password` };
}

async function authorizePath(state: string, extra: Record<string, string> = {}): Promise<string> {
  const { challenge } = await pkce();
  const query = new URLSearchParams({
    client_id: "return-app",
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid email",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    ...extra,
  });
  return `/authorize?${query}`;
}

describe("/authorize → sign-in → back (return_to)", () => {
  it("comes back to exactly the same request, even when its parameters hold control characters", async () => {
    const user = await someone();
    const browser = new Browser();
    const path = await authorizePath("\t/evil.example\n\u0000\u007fü");
    const toSignIn = await browser.get(path);
    expect(toSignIn.status).toBe(303);
    const returnTo = new URL(toSignIn.headers.get("location") ?? "", ISSUER).searchParams.get("return_to") ?? "";
    expect(returnTo).toBe(path);
    const back = await browser.signIn(user.username, user.password, returnTo);
    expect(back.status).toBe(303);
    const location = back.headers.get("location") ?? "";
    expect(location).toMatch(/^\/authorize\?[\x21-\x7e]*$/);
    expect(location).toBe(path);
    // The consent page of that request: the round trip lost nothing.
    expect((await browser.get(location)).status).toBe(200);
  });

  it("refuses a request too long to survive the sign-in detour (RFC 6749 §4.1.2.1 invalid_request, at the client)", async () => {
    const browser = new Browser();
    const response = await browser.get(await authorizePath("s", { ui_locales: "en ".repeat(1500) }));
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("error_description")).toMatch(/too long.*\/par/);
  });
});
