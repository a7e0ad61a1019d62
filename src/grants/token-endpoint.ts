/**
 * The token endpoint (RFC 6749 §3.2). Pipeline: readForm → authenticateClient → grantFor →
 * checkGrantAllowed → the grant's own handler. Every grant returns the JSON body of a
 * successful token response; errors are thrown and rendered at the boundary.
 */
import type { Context } from "hono";
import { type AuthenticatedClient, authenticateClient } from "../clients/authenticate";
import { type Client, GRANT_TYPES } from "../clients/metadata";
import type { RequestContext } from "../context";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { UnauthorizedClient, UnsupportedGrantType } from "../http/errors";
import { type FormParams, readForm } from "../http/form";
import { endpointUrls } from "../routes";
import { authorizationCodeGrant } from "./authorization-code";
import { cibaGrant } from "./ciba";
import { clientCredentialsGrant } from "./client-credentials";
import { refreshTokenGrant } from "./refresh-token";

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  scope?: string;
  id_token?: string;
  refresh_token?: string;
}

export type GrantHandler = (
  ctx: RequestContext,
  client: AuthenticatedClient,
  form: FormParams,
) => Promise<TokenResponse>;

const GRANTS: Record<string, GrantHandler> = {
  [GRANT_TYPES.clientCredentials]: clientCredentialsGrant,
  [GRANT_TYPES.authorizationCode]: authorizationCodeGrant,
  [GRANT_TYPES.ciba]: cibaGrant,
  [GRANT_TYPES.refreshToken]: refreshTokenGrant,
};

/** The grant types this token endpoint implements, for discovery. */
export const SUPPORTED_GRANT_TYPES = Object.keys(GRANTS);

export async function tokenEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const form = await readForm(ctx.request, ctx.settings.maxRequestBodyBytes);
  const client = await authenticateClient(ctx, form, endpointUrls(ctx.settings.issuer).token);
  const grantType = form.require("grant_type");
  const grant = grantFor(grantType);
  checkGrantAllowed(client, grantType);
  const body = await grant(ctx, client, form);
  return c.json(body, 200, { ...NO_STORE });
}

function grantFor(grantType: string): GrantHandler {
  const grant = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
  if (!grant) throw new UnsupportedGrantType(`grant_type ${grantType.slice(0, 100)} is not supported`);
  return grant;
}

function checkGrantAllowed(client: Client, grantType: string): void {
  if (!client.grant_types.includes(grantType)) {
    throw new UnauthorizedClient(`client is not allowed the ${grantType} grant`);
  }
}
