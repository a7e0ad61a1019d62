/**
 * The JSON API for signing keys (/admin/api/keys), on the functions the key pages use
 * (src/admin/keys.ts), with the same audit rows. Public keys only ever come out.
 */
import type { Context, Hono } from "hono";
import { KeyInputError } from "../../admin/keys";
import type { AppEnv } from "../../http/app-env";
import { NO_STORE } from "../../http/boundary";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { apiCaller, fieldError, jsonBody, notFound, requireReauthentication } from "./api-caller";
import { signingKeyAdmin } from "./key-routes";

export function mountKeyApi(app: Hono<AppEnv>): void {
  route(app, PATHS.adminApiKeys, { GET: listKeys, POST: addKey });
  route(app, PATHS.adminApiKeyRetire, { POST: retireKey });
}

/** `{keys, signing_kid, jwks_kids}`: every key with its state, and what /jwks serves now. */
async function listKeys(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  return c.json(await signingKeyAdmin(c, caller.store).overview(), 200, NO_STORE);
}

/** `{alg}` (ES256, PS256 or EdDSA): the new key, in /jwks at once, signing from `signs_from`. */
async function addKey(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const alg = typeof body.alg === "string" ? body.alg : "";
  try {
    return c.json(await signingKeyAdmin(c, caller.store).add(alg, caller.actor), 201, NO_STORE);
  } catch (error) {
    if (!(error instanceof KeyInputError)) throw error;
    return fieldError(c, error.field, error.message);
  }
}

/**
 * Retires a console key (a session sends `{"password": …}`): 200 with what /jwks does
 * (`remove_after`, `signing_kid_after`, `jwks_kids_after_removal`); 409 when it is already
 * retired or is the last key that can sign.
 */
async function retireKey(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  await requireReauthentication(caller, await jsonBody(c), "retiring a key");
  const effect = await signingKeyAdmin(c, caller.store).retire(c.req.param("kid") ?? "", caller.actor);
  if (!effect) return notFound(c, "console key");
  if (effect.refused) return fieldError(c, "kid", effect.refused, 409);
  return c.json(effect, 200, NO_STORE);
}
