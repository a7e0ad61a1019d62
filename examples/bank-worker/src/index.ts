/**
 * The bank's Worker: its own pages and API at the root, and edge-op, installed from npm as a
 * library, mounted under /master (issuer https://<host>/master) with the bank's own user
 * validator (its customer directory, over HTTP) and notification service.
 */
import { createProvider } from "edge-op";
import { Hono } from "hono";
import type { Env } from "./env";
import { KvNotificationService } from "./notification-service";
import { DirectoryUserValidator } from "./user-validator";

export { Directory } from "./directory";

export const provider = createProvider<Env>({
  basePath: "/master",
  services: {
    userValidator: (env) => new DirectoryUserValidator(env.DIRECTORY),
    notificationService: (env) => new KvNotificationService(env.NOTIFICATIONS),
  },
  // Settings in code, on top of wrangler.toml's vars: the bank's customers have a minute to answer.
  settings: { cibaRequestLifetime: 60 },
});

// The Durable Object classes, under the names wrangler.toml binds.
export const {
  BackchannelRequestObject,
  ReplayGuard,
  RefreshTokenFamily,
  AuthorizationCodeObject,
  UserCodeAttempts,
  LogoutDelivery,
  UserObject,
} = provider.durableObjects;

// The bank's own app, at the root.
const bank = new Hono<{ Bindings: Env }>();
bank.get("/", (c) => c.text("Example Bank. Sign-in and approvals live under /master."));

export default {
  // Everything under /master is the provider's, its errors and 404s included; the rest is the bank's.
  fetch(request, env, ctx) {
    if (provider.routes.contains(new URL(request.url).pathname)) return provider.fetch(request, env, ctx);
    return bank.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
