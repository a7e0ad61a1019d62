/**
 * The introspection endpoint (RFC 7662 §2): POST form, the caller authenticated exactly as at
 * the token endpoint (every method edge-op supports, §2.1), the `token` parameter, then the
 * answer (src/lifecycle/introspection.ts) as JSON or, when the Accept header asks for it, as a
 * signed JWT (RFC 9701 §4).
 */
import type { Context } from "hono";
import { authenticateClient } from "../clients/authenticate";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readForm } from "../http/form";
import { introspectToken } from "../lifecycle/introspection";
import {
  INTROSPECTION_JWT_TYPE,
  signIntrospectionResponse,
  wantsIntrospectionJwt,
} from "../lifecycle/introspection-jwt";
import { endpointUrls } from "../routes";

export async function introspectionEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const form = await readForm(ctx.request, ctx.settings.maxRequestBodyBytes);
  const client = await authenticateClient(ctx, form, endpointUrls(ctx.settings.issuer).introspection);
  const answer = await introspectToken(ctx, client, form.require("token"));
  if (wantsIntrospectionJwt(ctx.request.headers.get("accept"))) {
    const jwt = await signIntrospectionResponse(ctx, client.client_id, answer);
    return c.body(jwt, 200, { ...NO_STORE, "Content-Type": INTROSPECTION_JWT_TYPE });
  }
  return c.json(answer, 200, { ...NO_STORE });
}
