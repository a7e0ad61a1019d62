/**
 * The token endpoint (RFC 6749 §3.2): the form (src/http/form.ts), then the token request
 * (src/grants/token-request.ts), its response as JSON with Cache-Control: no-store, and a
 * `DPoP-Nonce` header when the client's DPoP nonce is about to expire (RFC 9449 §8.2).
 */
import type { Context } from "hono";
import { DPOP_NONCE_HEADER } from "../dpop/errors";
import { tokenRequest } from "../grants/token-request";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readForm } from "../http/form";

export async function tokenEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const form = await readForm(ctx.request, ctx.settings.maxRequestBodyBytes);
  const { body, dpopNonce } = await tokenRequest(ctx, form);
  const headers: Record<string, string> = { ...NO_STORE };
  if (dpopNonce !== undefined) headers[DPOP_NONCE_HEADER] = dpopNonce;
  return c.json(body, 200, headers);
}
