/**
 * The replaceable CIBA services, in one place. The defaults resolve users from this provider's
 * user table and notify by log or webhook. An integrator swaps in their own at start-up, in
 * their Worker's entry module, before any request is served:
 *
 *   import app, { useCibaServices } from "edge-op";
 *   useCibaServices({ userValidator: new MyDirectoryValidator(), notificationService: () => new MyPush() });
 *   export default app;
 *
 * Both the Worker and the request Durable Objects (which send notifications from their alarm)
 * run in the same module graph, so both see the replacement.
 */
import type { Settings } from "../config";
import type { Bindings } from "../env";
import { type BackchannelAuthenticationUserNotificationService, builtInNotificationService } from "./notifications";
import { type BackchannelAuthenticationUserValidator, DefaultUserValidator } from "./user-validator";

export interface CibaServices {
  userValidator: BackchannelAuthenticationUserValidator;
  notificationService(env: Bindings, settings: Settings): BackchannelAuthenticationUserNotificationService;
}

const defaults: CibaServices = {
  userValidator: new DefaultUserValidator(),
  notificationService: builtInNotificationService,
};

let current: CibaServices = defaults;

export function cibaServices(): CibaServices {
  return current;
}

/** Replaces some services; returns a function that restores the previous ones (for tests). */
export function useCibaServices(overrides: Partial<CibaServices>): () => void {
  const previous = current;
  current = { ...current, ...overrides };
  return () => {
    current = previous;
  };
}
