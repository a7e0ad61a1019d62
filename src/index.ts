/**
 * edge-op: the Worker. Mounts every endpoint on one Hono app, renders every error in one place,
 * and exports the Durable Object classes the runtime instantiates.
 */
import { type Handler, Hono } from "hono";
import { cors } from "hono/cors";
import { backchannelAuthenticationEndpoint } from "./ciba/backchannel-endpoint";
import { discoveryEndpoint, jwksEndpoint } from "./discovery/discovery";
import { tokenEndpoint } from "./grants/token-endpoint";
import type { AppEnv } from "./http/app-env";
import { renderError, renderNotFound } from "./http/boundary";
import { MethodNotAllowed } from "./http/errors";
import { userinfoEndpoint } from "./userinfo";

export { BackchannelRequestObject } from "./ciba/request-object";
export { useCibaServices } from "./ciba/services";
export { ReplayGuard } from "./replay/replay-guard";
export { RefreshTokenFamily } from "./tokens/refresh-token-family";

const app = new Hono<AppEnv>();

/** Registers `handler` for `methods` at `path`, and 405 with `Allow` for every other method. */
function route(path: string, methods: ("GET" | "POST")[], handler: Handler<AppEnv>) {
  app.on(methods, path, handler);
  app.all(path, (c) => {
    throw new MethodNotAllowed(c.req.method, methods);
  });
}

// Discovery and keys are read by browsers (SPAs) as well as servers: open CORS, no credentials.
const publicCors = cors({ origin: "*", allowMethods: ["GET"], maxAge: 86_400 });
app.use("/.well-known/openid-configuration", publicCors);
app.use("/jwks", publicCors);

route("/.well-known/openid-configuration", ["GET"], discoveryEndpoint);
route("/jwks", ["GET"], jwksEndpoint);
route("/token", ["POST"], tokenEndpoint);
route("/bc-authorize", ["POST"], backchannelAuthenticationEndpoint);
route("/userinfo", ["GET", "POST"], userinfoEndpoint);

app.notFound(renderNotFound);
app.onError(renderError);

export default app;
