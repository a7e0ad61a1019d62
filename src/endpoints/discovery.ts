/**
 * The discovery document (OpenID Connect Discovery §4, its content in src/discovery/discovery.ts)
 * and the public key set, served with public caching.
 */
import type { Context } from "hono";
import { providerMetadata } from "../discovery/discovery";
import type { AppEnv } from "../http/app-env";
import { loadKeys } from "../tokens/keys";

export async function discoveryEndpoint(c: Context<AppEnv>, served: { endSession: boolean }): Promise<Response> {
  const settings = c.var.ctx.settings;
  const keys = await loadKeys(c.var.ctx);
  const algs = [...new Set(keys.all.map((k) => k.alg))];
  const metadata = providerMetadata(settings, algs, c.var.ctx.authorizationDetails.types, served);
  return c.json(metadata, 200, { "Cache-Control": "public, max-age=300" });
}

export async function jwksEndpoint(c: Context<AppEnv>): Promise<Response> {
  const keys = await loadKeys(c.var.ctx);
  return c.json(keys.jwks, 200, {
    "Content-Type": "application/jwk-set+json",
    "Cache-Control": "public, max-age=300",
  });
}
