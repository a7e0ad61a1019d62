/**
 * createProvider's options that the other files do not exercise: settings given in code
 * (checked as their wrangler var would be), as a value or a function of the env; binding names
 * that are missing; stores given in code; and this repository's own Worker (src/worker.ts),
 * built with every default.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readClientRow } from "../src/clients/registry";
import {
  type BackchannelAuthenticationRequestStore,
  CLIENT_COLUMNS,
  type Client,
  type ClientStore,
  ConfigurationError,
  clientRow,
  createProvider,
  DurableObjectBackchannelRequestStore,
  type User,
  type UserStore,
  userRow,
} from "../src/index";
import worker, * as workerModule from "../src/worker";
import { CIBA_GRANT } from "./helpers/ciba";
import { registerClient } from "./helpers/fixtures";
import { basic, ISSUER } from "./helpers/http";

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

describe("stores given in code", () => {
  /** A client only an in-memory store knows: its registration as the default store would read it. */
  async function memoryClient(): Promise<{ client: Client; secret: string }> {
    const secret = "memory-client-secret-0123456789";
    const row = await clientRow(
      {
        client_id: "memory-client",
        client_name: "Memory client",
        token_endpoint_auth_method: "client_secret_basic",
        client_secret: secret,
        grant_types: [CIBA_GRANT],
        redirect_uris: [],
        scope: "openid profile",
        backchannel_token_delivery_mode: "poll",
        backchannel_user_code_parameter: false,
        require_pushed_authorization_requests: false,
      },
      env.DATA_ENCRYPTION_KEY,
    );
    const client = readClientRow(Object.fromEntries(CLIENT_COLUMNS.map((column) => [column, row[column]])));
    if (!client) throw new Error("the registration does not read as a client");
    return { client, secret };
  }

  it("are the ones the provider uses: a client and a user only they know get through CIBA to /userinfo", async () => {
    const { client, secret } = await memoryClient();
    const { password_hash } = await userRow({ username: "memory-user", password: "memory-user-password" });
    const user: User = {
      sub: "memory-sub",
      username: "memory-user",
      email_verified: false,
      phone_number_verified: false,
      password_hash,
    };
    const byUsername = (name: string) => (name === user.username ? user : undefined);
    const users: UserStore = {
      findBySubject: async (sub) => (sub === user.sub ? user : undefined),
      findByUsername: async (name) => byUsername(name),
      findByEmail: async () => undefined,
      findByPhoneNumber: async () => undefined,
      findByLoginHint: async (hint) => byUsername(hint),
      replaceUserCodeHash: async () => undefined,
    };
    const clients: ClientStore = { find: async (id) => (id === client.client_id ? client : undefined) };
    const calls: string[] = [];
    const provider = createProvider<Cloudflare.Env>({
      stores: {
        clients: () => clients,
        users: () => users,
        // The default, with each call noted.
        backchannelRequests: (_env, { bindings }) => {
          const store = new DurableObjectBackchannelRequestStore(bindings);
          return new Proxy(store, {
            get: (target, name, receiver) => {
              const value = Reflect.get(target, name, receiver);
              if (typeof value !== "function") return value;
              return (...args: unknown[]) => {
                calls.push(String(name));
                return value.apply(target, args);
              };
            },
          }) as BackchannelAuthenticationRequestStore;
        },
      },
    });
    const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
      provider.fetch(
        new Request(`${ISSUER}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams(form),
        }),
        env,
      );
    const credentials = basic(client.client_id, secret);

    const started = await post("/bc-authorize", { scope: "openid profile", login_hint: "memory-user" }, credentials);
    expect(started.status).toBe(200);
    const { auth_req_id } = await started.json<{ auth_req_id: string }>();
    const [pending] = await provider
      .interaction(env)
      .backchannel.getPendingLoginRequestsForCurrentUser({ subject: user.sub });
    expect(pending?.clientId).toBe(client.client_id);
    const answered = await provider
      .interaction(env)
      .backchannel.completeLoginRequest(
        { internalId: pending?.internalId ?? "", scopesValuesConsented: ["openid", "profile"] },
        { subject: user.sub },
      );
    expect(answered.ok).toBe(true);
    const tokens = await post("/token", { grant_type: CIBA_GRANT, auth_req_id }, credentials);
    expect(tokens.status).toBe(200);
    const { access_token } = await tokens.json<{ access_token: string }>();
    const userinfo = await provider.fetch(
      new Request(`${ISSUER}/userinfo`, { headers: { authorization: `Bearer ${access_token}` } }),
      env,
    );
    expect(await userinfo.json()).toMatchObject({ sub: user.sub, preferred_username: "memory-user" });
    expect(calls).toEqual(expect.arrayContaining(["createRequest", "pollByAuthenticationRequestId"]));
  });

  it("replace the defaults: a client registered only in D1 is unknown to a provider given its own client store", async () => {
    const { client } = await memoryClient();
    const registered = await registerClient({ client_id: `d1-only-${crypto.randomUUID()}` });
    const provider = createProvider<Cloudflare.Env>({
      stores: { clients: () => ({ find: async (id) => (id === client.client_id ? client : undefined) }) },
    });
    const response = await provider.fetch(
      new Request(`${ISSUER}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...basic(registered.client_id, registered.client_secret ?? ""),
        },
        body: new URLSearchParams({ grant_type: "client_credentials" }),
      }),
      env,
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_client" });
  });
});

describe("this repository's Worker (src/worker.ts)", () => {
  it("is a provider with every default, exporting its Durable Object classes under wrangler.toml's names", async () => {
    const names = Object.keys(worker.durableObjects) as (keyof typeof worker.durableObjects)[];
    // Every class wrangler.toml binds, the per-user object and the logout deliveries included.
    expect(names).toEqual(
      expect.arrayContaining(["BackchannelRequestObject", "ReplayGuard", "UserObject", "LogoutDelivery"]),
    );
    for (const name of names) expect(workerModule[name], name).toBe(worker.durableObjects[name]);
    const response = await worker.fetch(new Request(`${ISSUER}/.well-known/openid-configuration`), env);
    expect(((await response.json()) as { issuer: string }).issuer).toBe(ISSUER);
  });
});
