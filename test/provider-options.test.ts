/**
 * createProvider's options that the other files do not exercise: settings given in code
 * (checked as their wrangler var would be), as a value or a function of the env; binding names
 * that are missing; and this repository's own Worker (src/worker.ts), built with every default.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigurationError, createProvider } from "../src/index";
import worker, * as workerModule from "../src/worker";
import { ISSUER } from "./helpers/http";

describe("settings in code", () => {
  it("take the place of the var, in their parsed type, and are checked as the var would be", () => {
    const provider = createProvider<Cloudflare.Env>({
      settings: { cibaPollingInterval: 2, scopesSupported: ["openid"] },
    });
    const { settings } = provider.context(env);
    expect(settings.cibaPollingInterval).toBe(2);
    expect(settings.scopesSupported).toEqual(["openid"]);
    expect(() => createProvider<Cloudflare.Env>({ settings: { cibaPollingInterval: 0 } }).context(env)).toThrow(
      ConfigurationError,
    );
  });

  it("may be a function of the env", () => {
    const provider = createProvider<Cloudflare.Env>({
      settings: (given) => ({ accessTokenTtl: given.ISSUER === ISSUER ? 120 : 600 }),
    });
    expect(provider.context(env).settings.accessTokenTtl).toBe(120);
  });
});

describe("binding names", () => {
  it("a binding the env does not have is named in a ConfigurationError", () => {
    const provider = createProvider<Cloudflare.Env>({ bindings: { db: "NO_SUCH_DB" } });
    expect(() => provider.context(env)).toThrow(/NO_SUCH_DB \(db\)/);
  });

  it("a base path or realm that cannot be one is refused when the provider is made", () => {
    expect(() => createProvider({ basePath: "/master/" })).toThrow(/basePath/);
    expect(() => createProvider({ realm: "Realm A" })).toThrow(/realm/);
  });
});

describe("this repository's Worker (src/worker.ts)", () => {
  it("is a provider with every default, exporting its Durable Object classes under wrangler.toml's names", async () => {
    for (const name of [
      "BackchannelRequestObject",
      "ReplayGuard",
      "RefreshTokenFamily",
      "AuthorizationCodeObject",
      "UserCodeAttempts",
    ] as const) {
      expect(workerModule[name], name).toBe(worker.durableObjects[name]);
    }
    const response = await worker.fetch(new Request(`${ISSUER}/.well-known/openid-configuration`), env);
    expect(((await response.json()) as { issuer: string }).issuer).toBe(ISSUER);
  });
});
