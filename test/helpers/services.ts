/**
 * CIBA services a test can swap while the test Worker (test/worker.ts) runs. The provider is
 * given services that ask this module which implementation to use at each call; by default
 * they are the provider's defaults. The mutable state lives here, in the tests, not in src/.
 */
import {
  type BackchannelAuthenticationUserNotificationService,
  type BackchannelAuthenticationUserValidator,
  builtInNotificationService,
  DefaultUserValidator,
  type ServiceOptions,
  type Settings,
} from "../../src/index";

export interface CibaServices {
  userValidator: BackchannelAuthenticationUserValidator;
  notificationService(env: Cloudflare.Env, settings: Settings): BackchannelAuthenticationUserNotificationService;
}

const defaults: CibaServices = {
  userValidator: new DefaultUserValidator(),
  notificationService: builtInNotificationService,
};

let current: CibaServices = defaults;

/** What test/worker.ts gives its provider: each call goes to the services in use at that moment. */
export const testServices: ServiceOptions<Cloudflare.Env> = {
  userValidator: { validateRequest: (context) => current.userValidator.validateRequest(context) },
  notificationService: (env, settings) => ({
    sendLoginRequest: (request) => current.notificationService(env, settings).sendLoginRequest(request),
  }),
};

/** Replaces some services; returns a function that restores the previous ones. */
export function useCibaServices(overrides: Partial<CibaServices>): () => void {
  const previous = current;
  current = { ...current, ...overrides };
  return () => {
    current = previous;
  };
}
