/**
 * The console's JSON API under /admin/api (issue 17), on the same functions as the pages
 * (src/admin/). A caller is either an admin's browser session (idle timeout as for the pages;
 * changes need the `X-CSRF-Token` header, and removing a client the admin's password) or an
 * operator client's access token carrying the `admin` scope (ADMIN_SCOPE: only a
 * client_credentials-only client may register it, src/clients/metadata.ts). Errors are the
 * provider's one JSON error shape (src/http/boundary.ts).
 */
import type { Context, Hono } from "hono";
import { clientFormValues, registrationFromForm } from "../../admin/client-form";
import { ClientAdmin, ClientConflictError } from "../../admin/clients";
import { AUTH_METHODS, usesSecret } from "../../clients/metadata";
import type { AppEnv } from "../../http/app-env";
import { NO_STORE } from "../../http/boundary";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { type ApiCaller, apiCaller, jsonBody, notFound, requireReauthentication } from "./api-caller";
import { mountPkiApi } from "./api-pki";
import { mountUserApi } from "./api-users";

/** The pages' guard (./routes.tsx) sends /admin/api paths through this check. */
export { apiCaller };

export function mountAdminApi(app: Hono<AppEnv>): void {
  route(app, PATHS.adminApiClients, { GET: listClients, POST: createClient });
  route(app, PATHS.adminApiClient, { GET: getClient, DELETE: removeClient });
  route(app, PATHS.adminApiAudit, { GET: audit });
  mountUserApi(app);
  mountPkiApi(app);
}

function clients(c: Context<AppEnv>, caller: ApiCaller): ClientAdmin {
  return new ClientAdmin(c.var.ctx.env.DB, caller.store, c.var.ctx.env.DATA_ENCRYPTION_KEY);
}

async function listClients(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const list = await clients(c, caller).list((c.req.query("q") ?? "").slice(0, 128));
  return c.json(
    { clients: list.map(({ client, disabledAt }) => ({ ...client, disabled_at: disabledAt })) },
    200,
    NO_STORE,
  );
}

async function getClient(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const entry = await clients(c, caller).get(c.req.param("clientId") ?? "");
  if (!entry) return c.json({ error: "not_found", error_description: "no such client" }, 404, NO_STORE);
  return c.json({ ...entry.client, disabled_at: entry.disabledAt }, 200, NO_STORE);
}

/**
 * A client from JSON with the form's fields (grant_types an array, booleans as booleans), checked
 * by validateClientRegistration; 400 names the field. The generated secret is in this answer only.
 */
async function createClient(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const text = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : undefined);
  const values = clientFormValues({
    get: (name) => (typeof body[name] === "boolean" ? (body[name] ? "on" : undefined) : text(name)),
    getAll: (name) => (Array.isArray(body[name]) ? body[name].filter((v): v is string => typeof v === "string") : []),
  });
  const method = values.token_endpoint_auth_method;
  const secret = AUTH_METHODS.some((m) => m === method && usesSecret(m)) ? ClientAdmin.newSecret() : undefined;
  const settings = c.var.ctx.settings;
  const result = registrationFromForm(
    values,
    secret,
    settings.scopesSupported,
    settings.allowHttpNotificationEndpoints,
  );
  if (!result.ok) {
    return c.json(
      { error: "invalid_client_metadata", field: result.field, error_description: result.message },
      400,
      NO_STORE,
    );
  }
  try {
    await clients(c, caller).create(result.registration, caller.actor);
  } catch (error) {
    if (!(error instanceof ClientConflictError)) throw error;
    return c.json(
      { error: "invalid_client_metadata", field: "client_id", error_description: "client exists" },
      409,
      NO_STORE,
    );
  }
  const { client_secret: _, ...registered } = result.registration;
  return c.json(secret ? { ...registered, client_secret: secret } : registered, 201, NO_STORE);
}

async function removeClient(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  if (caller.passwordHash !== undefined) {
    // An admin's session re-authenticates for this dangerous action, as on the page.
    await requireReauthentication(caller, await jsonBody(c), "removing a client");
  }
  const store = clients(c, caller);
  const entry = await store.get(c.req.param("clientId") ?? "");
  if (!entry) return notFound(c, "client");
  await store.remove(entry.client.client_id, caller.actor);
  return c.body(null, 204);
}

async function audit(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const before = Number.parseInt(c.req.query("before") ?? "", 10);
  const entries = await caller.store.auditTrail(100, Number.isSafeInteger(before) ? before : undefined);
  return c.json({ entries }, 200, NO_STORE);
}
