/**
 * The revocation endpoint (RFC 7009 §2): POST form, the caller authenticated exactly as at the
 * token endpoint (§2.1), the `token` parameter, then src/lifecycle/revocation.ts. §2.2: 200 with
 * an empty body whether the token was revoked or was invalid to begin with.
 */
import type { Context } from "hono";
import { authenticateClient } from "../clients/authenticate";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readForm } from "../http/form";
import { revokeToken } from "../lifecycle/revocation";
import { endpointUrls } from "../routes";

export async function revocationEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const form = await readForm(ctx.request, ctx.settings.maxRequestBodyBytes);
  const client = await authenticateClient(ctx, form, endpointUrls(ctx.settings.issuer).revocation);
  await revokeToken(ctx, client, form.require("token"));
  return c.body(null, 200, { ...NO_STORE });
}
