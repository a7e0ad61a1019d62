/**
 * The token endpoint (RFC 6749 §3.2): the form (src/http/form.ts), then the token request
 * (src/grants/token-request.ts), its response as JSON with Cache-Control: no-store.
 */
import type { Context } from "hono";
import { tokenRequest } from "../grants/token-request";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readForm } from "../http/form";

export async function tokenEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const form = await readForm(ctx.request, ctx.settings.maxRequestBodyBytes);
  return c.json(await tokenRequest(ctx, form), 200, { ...NO_STORE });
}
