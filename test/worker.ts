/**
 * The Worker the tests run (vitest.config.ts `main`): this repository's provider at the root,
 * as src/worker.ts builds it except that its CIBA services can be swapped by a test
 * (test/helpers/services.ts), as an integrator's own services would be passed in; and a second
 * provider, realm "b" under /realm-b, with its own D1 database, backchannel request objects and
 * signing keys, sharing KV and the other Durable Object namespaces (test/realms.test.ts).
 */
import { createProvider } from "../src/index";
import { testServices } from "./helpers/services";

export const provider = createProvider<Cloudflare.Env>({ services: testServices });

export const realmB = createProvider<Cloudflare.Env>({
  basePath: "/realm-b",
  realm: "b",
  bindings: {
    db: "REALM_B_DB",
    backchannelRequests: "REALM_B_BACKCHANNEL_REQUESTS",
    signingKeys: "REALM_B_SIGNING_KEYS",
  },
});

export default {
  fetch(request: Request, env: Cloudflare.Env, executionContext?: ExecutionContext) {
    const target = realmB.routes.contains(new URL(request.url).pathname) ? realmB : provider;
    return target.fetch(request, env, executionContext);
  },
};

export const {
  BackchannelRequestObject,
  ReplayGuard,
  RefreshTokenFamily,
  AuthorizationCodeObject,
  UserCodeAttempts,
  UserObject,
  LogoutDelivery,
} = provider.durableObjects;
export const RealmBBackchannelRequestObject = realmB.durableObjects.BackchannelRequestObject;
