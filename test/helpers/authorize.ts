/** Helpers for the authorization-code flow: PKCE values and walking the pages like a browser. */
import { expect } from "vitest";
import { Browser } from "./browser";
import { ISSUER } from "./http";
import { client } from "./rp";

export async function pkce() {
  const verifier = client.randomPKCECodeVerifier();
  return { verifier, challenge: await client.calculatePKCECodeChallenge(verifier) };
}

/** The path and query of an absolute URL on this provider. */
export function local(url: string | URL): string {
  const u = new URL(url);
  expect(u.origin).toBe(ISSUER);
  return `${u.pathname}${u.search}`;
}

/**
 * Follows an authorization URL through sign-in and consent. Returns the final redirect
 * (to the client) or the page response that stopped the walk.
 */
export async function walk(
  browser: Browser,
  authorizationUrl: string | URL,
  user: { username: string; password: string },
  decision: "approve" | "deny" = "approve",
): Promise<Response> {
  let response = await browser.get(local(authorizationUrl));
  for (let step = 0; step < 6; step++) {
    const location = response.headers.get("location");
    if (response.status === 303 && location?.startsWith("/signin")) {
      const returnTo = new URL(location, ISSUER).searchParams.get("return_to") ?? "";
      const form = await browser.get(location);
      const csrf = Browser.csrfOf(await form.text());
      response = await browser.post("/signin", {
        csrf,
        username: user.username,
        password: user.password,
        return_to: returnTo,
      });
      continue;
    }
    if (response.status === 303 && location?.startsWith("/authorize")) {
      response = await browser.get(location);
      continue;
    }
    if (response.status === 200 && (response.headers.get("content-type") ?? "").includes("text/html")) {
      const html = await response.text();
      if (!html.includes('name="decision"')) return new Response(html, { status: 200 });
      const action = /<form method="post" action="(\/authorize[^"]*)"/.exec(html)?.[1]?.replace(/&amp;/g, "&") ?? "";
      response = await browser.post(action, { csrf: Browser.csrfOf(html), decision });
      continue;
    }
    return response;
  }
  throw new Error("the authorization flow did not finish");
}
