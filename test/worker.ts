/**
 * The Worker the tests run (vitest.config.ts `main`): this repository's provider, as
 * src/worker.ts builds it, except that its CIBA services can be swapped by a test
 * (test/helpers/services.ts), as an integrator's own services would be passed in.
 */
import { createProvider } from "../src/index";
import { testServices } from "./helpers/services";

export const provider = createProvider<Cloudflare.Env>({ services: testServices });

export default provider;

export const { BackchannelRequestObject, ReplayGuard, RefreshTokenFamily, AuthorizationCodeObject, UserCodeAttempts } =
  provider.durableObjects;

// The per-user object of issue 16, not yet part of the provider: bound only for its tests
// (TEST_USER_OBJECT in vitest.config.ts, test/user-object.test.ts).
export { UserObject } from "../src/users/user-object";
