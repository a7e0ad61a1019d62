/**
 * A provider's Hono app: its first middleware builds the request context, then every endpoint
 * is mounted at its path from the route table (src/routes.ts) under the provider's base path;
 * every error is rendered in one place.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { mountAuthenticatorApi } from "../api/authenticator-api";
import { mountPushApi } from "../api/push-api";
import { mountAuthorization } from "../endpoints/authorize";
import { backchannelAuthenticationEndpoint } from "../endpoints/backchannel";
import { discoveryEndpoint, jwksEndpoint } from "../endpoints/discovery";
import { introspectionEndpoint } from "../endpoints/introspect";
import { pushedAuthorizationRequestEndpoint } from "../endpoints/par";
import {
  clientConfigurationDelete,
  clientConfigurationRead,
  clientConfigurationUpdate,
  registrationEndpoint,
} from "../endpoints/register";
import { revocationEndpoint } from "../endpoints/revoke";
import { tokenEndpoint } from "../endpoints/token";
import { userinfoEndpoint } from "../endpoints/userinfo";
import type { AppEnv } from "../http/app-env";
import { renderError, renderNotFound } from "../http/boundary";
import { route } from "../http/route";
import { PATHS } from "../routes";
import { mountAdminConsole } from "../ui/admin/routes";
import { mountPasskeys } from "../ui/passkeys";
import { mountPwa } from "../ui/pwa";
import { mountUserPages } from "../ui/routes";
import type { ProviderRuntime } from "./runtime";

export function buildApp<Env extends object>(runtime: ProviderRuntime<Env>): Hono<AppEnv> {
  const root = new Hono<AppEnv>();
  const app = runtime.routes.basePath ? root.basePath(runtime.routes.basePath) : root;
  app.use("*", async (c, next) => {
    c.set("ctx", runtime.context(c.env as Env, c.req.raw));
    await next();
  });

  // Discovery and keys are read by browsers (SPAs) as well as servers: open CORS, no credentials.
  const publicCors = cors({ origin: "*", allowMethods: ["GET"], maxAge: 86_400 });
  app.use(PATHS.discovery, publicCors);
  app.use(PATHS.jwks, publicCors);

  // Without the built-in pages there is no /end-session page (the integrator's own pages end
  // their sessions), so discovery does not list it.
  route(app, PATHS.discovery, { GET: (c) => discoveryEndpoint(c, { endSession: runtime.pages }) });
  route(app, PATHS.jwks, { GET: jwksEndpoint });
  route(app, PATHS.token, { POST: tokenEndpoint });
  route(app, PATHS.backchannelAuthentication, { POST: backchannelAuthenticationEndpoint });
  route(app, PATHS.userinfo, { GET: userinfoEndpoint, POST: userinfoEndpoint });
  route(app, PATHS.pushedAuthorizationRequest, { POST: pushedAuthorizationRequestEndpoint });
  route(app, PATHS.introspection, { POST: introspectionEndpoint });
  route(app, PATHS.revocation, { POST: revocationEndpoint });
  route(app, PATHS.registration, { POST: registrationEndpoint });
  route(app, PATHS.registrationClient, {
    GET: clientConfigurationRead,
    PUT: clientConfigurationUpdate,
    DELETE: clientConfigurationDelete,
  });
  mountAuthorization(app, runtime.pages ? undefined : runtime.interactionUrl);
  // Passkeys before the user pages: /ciba/requests/:internalId/passkey-options and /signin/passkey.
  if (runtime.pages) mountPasskeys(app);
  if (runtime.pages) mountUserPages(app);
  // The administration console uses the sign-in page, so it comes with the built-in pages.
  if (runtime.pages) mountAdminConsole(app);
  if (runtime.pages) mountPwa(app);
  mountAuthenticatorApi(app);
  mountPushApi(app);

  root.notFound(renderNotFound);
  root.onError(renderError);
  return root;
}
