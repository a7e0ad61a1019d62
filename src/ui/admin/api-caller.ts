/**
 * Who calls the console's JSON API (/admin/api) and the helpers its routes share: the JSON
 * body, the password asked again for dangerous actions, errors naming a field, 404.
 */
import type { Context } from "hono";
import { acceptOperatorToken } from "../../admin/operator-token";
import { AdminStore } from "../../admin/store";
import { ADMIN_SCOPE } from "../../clients/metadata";
import { verifyPassword } from "../../crypto/password";
import { BearerTokenRequired, InsufficientScope, InvalidRequest, OAuthError } from "../../errors";
import type { AppEnv } from "../../http/app-env";
import { NO_STORE } from "../../http/boundary";
import { readBodyText } from "../../http/form";
import { ownEndpointAudiences } from "../../params/resource-indicators";
import { isRecord } from "../../parse";
import { PATHS } from "../../routes";
import { bearerTokenOf } from "../../tokens/bearer";
import { currentSession, endSession } from "../browser-session";
import { validCsrf } from "../csrf";
import { passkeyStepUpPending } from "./step-up-rule";

export interface ApiCaller {
  actor: string;
  store: AdminStore;
  /** The signed-in admin's password hash, for re-authentication; absent for operator clients. */
  passwordHash?: string;
}

/** Who calls the API, or throws 401/403. Runs before routing for every /admin/api path. */
export async function apiCaller(c: Context<AppEnv>): Promise<ApiCaller> {
  const ctx = c.var.ctx;
  const store = new AdminStore(ctx.env.DB);
  const authorization = c.req.header("authorization");
  if (authorization !== undefined) {
    const { clientId } = await acceptOperatorToken(ctx, bearerTokenOf(authorization), {
      scope: ADMIN_SCOPE,
      audiences: ownEndpointAudiences(ctx.settings.issuer, `${ctx.settings.issuer}${PATHS.adminApi}`),
    });
    return { actor: `client:${clientId}`, store };
  }
  const session = await currentSession(c);
  if (!session) throw new BearerTokenRequired();
  const user = await ctx.stores.users.findBySubject(session.subject);
  if (!user || !(await store.isAdmin(session.subject))) {
    throw new InsufficientScope("this API is for administrators only");
  }
  const activity = await store.touch(session.sid, session.authTime, ctx.settings.adminIdleTimeout);
  if (activity.state === "idle") {
    await endSession(c);
    throw new BearerTokenRequired();
  }
  if (await passkeyStepUpPending(c, session, activity)) throw new StepUpRequired(ctx.routes.path("adminStepUp"));
  if (c.req.method !== "GET" && !(await validCsrf(c, c.req.header("x-csrf-token")))) {
    throw new InvalidRequest("a change made with a session needs the X-CSRF-Token header");
  }
  return { actor: session.subject, store, passwordHash: user.password_hash };
}

export async function jsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const text = await readBodyText(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  let value: unknown;
  try {
    value = JSON.parse(text || "{}");
  } catch {
    throw new InvalidRequest("the body must be a JSON object");
  }
  if (!isRecord(value)) throw new InvalidRequest("the body must be a JSON object");
  return value;
}

/**
 * A dangerous action called with an admin's session asks for the admin's password in the body
 * (`"password"`), as its page does; an operator client's token is its own proof.
 */
export async function requireReauthentication(caller: ApiCaller, body: Record<string, unknown>, action: string) {
  if (caller.passwordHash === undefined) return;
  const password = typeof body.password === "string" ? body.password : "";
  if (!(await verifyPassword(password, caller.passwordHash))) throw new ReauthenticationRequired(action);
}

/** 400 naming the field at fault, as the pages show it beside the field. */
export function fieldError(c: Context<AppEnv>, field: string, message: string, status: 400 | 409 = 400) {
  return c.json({ error: "invalid_request", field, error_description: message }, status, NO_STORE);
}

export function notFound(c: Context<AppEnv>, what: string) {
  return c.json({ error: "not_found", error_description: `no such ${what}` }, 404, NO_STORE);
}

class ReauthenticationRequired extends OAuthError {
  constructor(action: string) {
    super("invalid_request", `${action} needs the admin's password in the body ("password")`, 401);
  }
}

/** An admin with a passkey whose password session has not confirmed with it (./step-up-rule.ts). */
class StepUpRequired extends OAuthError {
  constructor(stepUpPage: string) {
    super("step_up_required", `this admin has a passkey: confirm with it on ${stepUpPage} first`, 403);
  }
}
