/**
 * createProvider: edge-op as a library. Options are captured once, here, in closures: the app,
 * the Durable Object class whose alarm notifies through the provider's services, and the
 * interaction services for an integrator's pages all read the same resolved options, and
 * nothing is swapped in at module level, so several providers live side by side in one Worker.
 *
 *   const provider = createProvider({ basePath: "/master", services: { notificationService } });
 *   export default provider;
 *   export const { BackchannelRequestObject, ReplayGuard, RefreshTokenFamily,
 *     AuthorizationCodeObject, UserCodeAttempts, UserObject, LogoutDelivery } = provider.durableObjects;
 */
import { AuthorizationCodeObject } from "../authorize/code-object";
import { AuthorizationInteractionService } from "../authorize/interaction-service";
import { BackchannelAuthenticationInteractionService } from "../ciba/interaction-service";
import { defineBackchannelRequestObject } from "../ciba/request-object";
import { UserCodeAttempts } from "../ciba/user-code-attempts";
import { LogoutDelivery } from "../logout/delivery-object";
import { ReplayGuard } from "../replay/replay-guard";
import { RefreshTokenFamily } from "../tokens/refresh-token-family";
import { UserObject } from "../users/user-object";
import { buildApp } from "./app";
import type { Provider, ProviderOptions } from "./options";
import { ProviderRuntime } from "./runtime";

export function createProvider<Env extends object = Record<string, unknown>>(
  options: ProviderOptions<Env> = {},
): Provider<Env> {
  const runtime = new ProviderRuntime(options);
  const app = buildApp(runtime);
  return {
    app,
    fetch: (request, env, executionContext) => app.fetch(request, env, executionContext),
    durableObjects: {
      BackchannelRequestObject: defineBackchannelRequestObject((env) => runtime.context(env as Env)),
      ReplayGuard,
      RefreshTokenFamily,
      AuthorizationCodeObject,
      UserCodeAttempts,
      UserObject,
      LogoutDelivery,
    },
    interaction: (env) => {
      const ctx = runtime.context(env);
      return {
        backchannel: new BackchannelAuthenticationInteractionService(ctx),
        authorization: new AuthorizationInteractionService(ctx),
      };
    },
    routes: runtime.routes,
    context: (env, request) => runtime.context(env, request),
  };
}
