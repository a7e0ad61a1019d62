/**
 * This repository's own Worker (wrangler.toml `main`, `npm start`): one provider at the root,
 * with every default, built exactly as an integrator builds theirs (src/index.ts).
 */
import type { Bindings } from "./env";
import { createProvider } from "./index";

const provider = createProvider<Bindings>();

export default provider;

// The Durable Object classes, under the names wrangler.toml binds and migrates.
export const {
  BackchannelRequestObject,
  ReplayGuard,
  RefreshTokenFamily,
  AuthorizationCodeObject,
  UserCodeAttempts,
  UserObject,
  LogoutDelivery,
} = provider.durableObjects;

// The env this Worker is given (wrangler.toml's bindings and vars, the secrets).
declare global {
  namespace Cloudflare {
    interface Env extends Bindings {}
  }
}
