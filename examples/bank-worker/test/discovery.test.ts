/** edge-op under /master: OpenID Discovery §4 puts the metadata at the issuer's path plus the well-known suffix. */
import { describe, expect, it } from "vitest";
import { call, ISSUER } from "./helpers";

describe("discovery under /master", () => {
  it("names the issuer https://bank.example/master and puts every endpoint under it", async () => {
    const response = await call("/master/.well-known/openid-configuration");
    expect(response.status).toBe(200);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe(ISSUER);
    expect(metadata).toMatchObject({
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      pushed_authorization_request_endpoint: `${ISSUER}/par`,
      backchannel_authentication_endpoint: `${ISSUER}/bc-authorize`,
      jwks_uri: `${ISSUER}/jwks`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
    });
    const urls = JSON.stringify(metadata).match(/https?:\/\/[^"]+/g) ?? [];
    expect(urls.length).toBeGreaterThan(6);
    for (const url of urls) expect(url.startsWith(`${ISSUER}/`) || url === ISSUER, url).toBe(true);
  });

  it("publishes the signing keys at /master/jwks", async () => {
    const jwks = (await (await call("/master/jwks")).json()) as { keys: { kid?: string; d?: string }[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key.kid).toBeDefined();
      expect(key.d).toBeUndefined();
    }
  });

  it("leaves the rest of the Worker to the bank: nothing of edge-op's at the root", async () => {
    expect(await (await call("/")).text()).toContain("Example Bank");
    expect((await call("/.well-known/openid-configuration")).status).toBe(404);
    expect((await call("/token", { method: "POST" })).status).toBe(404);
    // The directory is an entrypoint for the service binding only, not a public route.
    expect((await call("/customers?login_hint=1001")).status).toBe(404);
  });

  it("answers unknown paths under /master with edge-op's JSON 404", async () => {
    const response = await call("/master/nothing-here");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: expect.any(String) });
  });
});
