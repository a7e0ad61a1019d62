/**
 * The JSON API for users (/admin/api/users; signing keys: ./api-keys.ts), on the functions
 * the user pages use (src/admin/users.ts), with the same audit rows. Passwords
 * and user codes go in, never out.
 */
import type { Context, Hono } from "hono";
import { endGrantsOf, pendingRequestsOf, UserAdmin, UserInputError } from "../../admin/users";
import type { BackchannelAuthenticationRequest } from "../../ciba/model";
import type { AppEnv } from "../../http/app-env";
import { NO_STORE } from "../../http/boundary";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { type ApiCaller, apiCaller, fieldError, jsonBody, notFound } from "./api-caller";
import { mountKeyApi } from "./api-keys";

export function mountUserApi(app: Hono<AppEnv>): void {
  route(app, PATHS.adminApiUsers, { GET: listUsers, POST: createUser });
  route(app, PATHS.adminApiUserDisable, { POST: setDisabled });
  route(app, PATHS.adminApiUserPassword, { POST: resetPassword });
  route(app, PATHS.adminApiUserCode, { POST: setUserCode });
  route(app, PATHS.adminApiUser, { GET: getUser });
  mountKeyApi(app);
}

function users(c: Context<AppEnv>, caller: ApiCaller): UserAdmin {
  return new UserAdmin(c.var.ctx.env.DB, caller.store, c.var.ctx.env.DATA_ENCRYPTION_KEY);
}

function text(body: Record<string, unknown>, name: string): string | undefined {
  return typeof body[name] === "string" ? body[name] : undefined;
}

/** A pending request as the API shows it: no handle (auth_req_id), only what an operator needs. */
function pendingView(request: BackchannelAuthenticationRequest) {
  return {
    client_id: request.clientId,
    client_name: request.clientName,
    binding_message: request.bindingMessage ?? null,
    created_at: request.creationTime,
    notification_status: request.notificationStatus,
    notification_attempts: request.notificationAttempts,
    client_delivery_status: request.clientDeliveryStatus ?? null,
    client_delivery_attempts: request.clientDeliveryAttempts ?? null,
  };
}

async function listUsers(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const list = await users(c, caller).list((c.req.query("q") ?? "").slice(0, 128));
  return c.json({ users: list }, 200, NO_STORE);
}

async function getUser(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const user = await users(c, caller).get(c.req.param("sub") ?? "");
  if (!user) return notFound(c, "user");
  const pending = await pendingRequestsOf(c.var.ctx, user.sub);
  return c.json({ ...user, pending_requests: pending.map(pendingView) }, 200, NO_STORE);
}

/** `{username, password, name?, email?}`; 400 names the field, as the page shows it. */
async function createUser(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const store = users(c, caller);
  try {
    const sub = await store.create(
      {
        username: (text(body, "username") ?? "").trim(),
        password: text(body, "password") ?? "",
        name: text(body, "name")?.trim().slice(0, 200) || undefined,
        email: text(body, "email")?.trim().slice(0, 200) || undefined,
      },
      caller.actor,
    );
    return c.json(await store.get(sub), 201, NO_STORE);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return fieldError(c, error.field, error.message);
  }
}

/** `{disabled: true | false}`: as the page's Disable / Enable (src/admin/users.ts). */
async function setDisabled(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  if (typeof body.disabled !== "boolean") return fieldError(c, "disabled", "disabled must be true or false");
  const store = users(c, caller);
  const user = await store.get(c.req.param("sub") ?? "");
  if (!user) return notFound(c, "user");
  await store.setDisabled(user.sub, body.disabled, caller.actor);
  if (body.disabled) await endGrantsOf(c.var.ctx, user.sub);
  return c.json(await store.get(user.sub), 200, NO_STORE);
}

/** `{password}`: the new password; the user's sessions end. */
async function resetPassword(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const store = users(c, caller);
  const user = await store.get(c.req.param("sub") ?? "");
  if (!user) return notFound(c, "user");
  try {
    await store.resetPassword(user.sub, text(body, "password") ?? "", caller.actor);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return fieldError(c, error.field, error.message);
  }
  return c.body(null, 204);
}

/** `{user_code: "…"}` sets the CIBA user_code (stored as a keyed hash), `{user_code: null}` clears it. */
async function setUserCode(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const code = body.user_code;
  if (code !== null && typeof code !== "string") {
    return fieldError(c, "user_code", "user_code must be a string, or null to clear it");
  }
  const store = users(c, caller);
  const user = await store.get(c.req.param("sub") ?? "");
  if (!user) return notFound(c, "user");
  try {
    await store.setUserCode(user.sub, code ?? undefined, caller.actor);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return fieldError(c, error.field, error.message);
  }
  return c.body(null, 204);
}
