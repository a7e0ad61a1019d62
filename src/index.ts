/**
 * edge-op: the Worker. Mounts every endpoint on one Hono app, renders every error in one place,
 * and exports the Durable Object classes the runtime instantiates.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { mountAuthenticatorApi } from "./api/authenticator-api";
import { mountAuthorization } from "./authorize/authorize-endpoint";
import { backchannelAuthenticationEndpoint } from "./ciba/backchannel-endpoint";
import { discoveryEndpoint, jwksEndpoint } from "./discovery/discovery";
import { tokenEndpoint } from "./grants/token-endpoint";
import type { AppEnv } from "./http/app-env";
import { renderError, renderNotFound } from "./http/boundary";
import { route } from "./http/route";
import { pushedAuthorizationRequestEndpoint } from "./par/par-endpoint";
import { mountUserPages } from "./ui/routes";
import { userinfoEndpoint } from "./userinfo";

export { AuthorizationCodeObject } from "./authorize/code-object";
export { BackchannelRequestObject } from "./ciba/request-object";
export { useCibaServices } from "./ciba/services";
export { UserCodeAttempts } from "./ciba/user-code-attempts";
export { ReplayGuard } from "./replay/replay-guard";
export { RefreshTokenFamily } from "./tokens/refresh-token-family";

const app = new Hono<AppEnv>();

// Discovery and keys are read by browsers (SPAs) as well as servers: open CORS, no credentials.
const publicCors = cors({ origin: "*", allowMethods: ["GET"], maxAge: 86_400 });
app.use("/.well-known/openid-configuration", publicCors);
app.use("/jwks", publicCors);

route(app, "/.well-known/openid-configuration", { GET: discoveryEndpoint });
route(app, "/jwks", { GET: jwksEndpoint });
route(app, "/token", { POST: tokenEndpoint });
route(app, "/bc-authorize", { POST: backchannelAuthenticationEndpoint });
route(app, "/userinfo", { GET: userinfoEndpoint, POST: userinfoEndpoint });
route(app, "/par", { POST: pushedAuthorizationRequestEndpoint });
mountAuthorization(app);
mountUserPages(app);
mountAuthenticatorApi(app);

app.notFound(renderNotFound);
app.onError(renderError);

export default app;
