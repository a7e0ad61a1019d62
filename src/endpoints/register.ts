/**
 * The registration endpoint (RFC 7591 §3) and the client configuration endpoint (RFC 7592 §2):
 * JSON in, JSON out, a Bearer token on every call — the operator's initial access token at
 * /register, the client's registration access token at /register/<client_id>. The protocol is
 * in src/registration/registration.ts.
 */
import type { Context } from "hono";
import type { RequestContext } from "../context";
import { InvalidRequest } from "../errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { readBodyText } from "../http/form";
import { deleteRegistration, readRegistration, registerClient, updateRegistration } from "../registration/registration";
import { endpointUrls } from "../routes";
import { bearerTokenOf } from "../tokens/bearer";

/** RFC 7591 §3.1: POST a metadata document; 201 with the client information (§3.2.1). */
export async function registrationEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const token = bearerTokenOf(ctx.request.headers.get("authorization"));
  const body = await readJson(ctx);
  return c.json(await registerClient(ctx, token, body, clientUriOf(ctx)), 201, { ...NO_STORE });
}

/** RFC 7592 §2.1: the client's current registration. */
export async function clientConfigurationRead(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const token = bearerTokenOf(ctx.request.headers.get("authorization"));
  const information = await readRegistration(ctx, c.req.param("clientId") ?? "", token, clientUriOf(ctx));
  return c.json(information, 200, { ...NO_STORE });
}

/** RFC 7592 §2.2: replaces the registration with the metadata sent. */
export async function clientConfigurationUpdate(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const token = bearerTokenOf(ctx.request.headers.get("authorization"));
  const body = await readJson(ctx);
  const information = await updateRegistration(ctx, c.req.param("clientId") ?? "", token, body, clientUriOf(ctx));
  return c.json(information, 200, { ...NO_STORE });
}

/** RFC 7592 §2.3: 204 once the client is gone. */
export async function clientConfigurationDelete(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const token = bearerTokenOf(ctx.request.headers.get("authorization"));
  await deleteRegistration(ctx, c.req.param("clientId") ?? "", token);
  return c.body(null, 204, { ...NO_STORE });
}

function clientUriOf(ctx: RequestContext): (clientId: string) => string {
  const { registration } = endpointUrls(ctx.settings.issuer);
  return (clientId) => `${registration}/${encodeURIComponent(clientId)}`;
}

/** RFC 7591 §3.1: the metadata is a JSON document; anything else is invalid_request. */
async function readJson(ctx: RequestContext): Promise<unknown> {
  const mediaType = ctx.request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") throw new InvalidRequest("the request body must be application/json");
  const text = await readBodyText(ctx.request, ctx.settings.maxRequestBodyBytes);
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequest("the request body is not valid JSON");
  }
}
