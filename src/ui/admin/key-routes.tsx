/**
 * The console's signing key routes: the list with the add form, one key's page, and retire
 * (the admin's password asked again). Every change writes its audit row (src/admin/keys.ts).
 */
import type { Context, Handler, Hono } from "hono";
import { KeyInputError, SigningKeyAdmin } from "../../admin/keys";
import type { AdminStore } from "../../admin/store";
import type { AppEnv } from "../../http/app-env";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { MessagePage } from "../layout";
import { render } from "../page";
import { type Admin, reauthenticated } from "./guard";
import { KeyPage, KeysPage } from "./key-pages";
import { formatTime } from "./layout";

type Form = { get(name: string): string | undefined };
type Page = (handler: (c: Context<AppEnv>, admin: Admin) => Promise<Response>) => Handler<AppEnv>;
type FormPage = (handler: (c: Context<AppEnv>, admin: Admin, form: Form) => Promise<Response>) => Handler<AppEnv>;
type FieldProblem = { field: string; message: string };

export function mountKeyPages(app: Hono<AppEnv>, adminPage: Page, adminForm: FormPage): void {
  route(app, PATHS.adminKeys, { GET: adminPage(listKeys), POST: adminForm(addKey) });
  route(app, PATHS.adminKeyRetire, { POST: adminForm(retireKey) });
  route(app, PATHS.adminKey, { GET: adminPage(showKey) });
}

/** The key admin of this request's provider (the API uses it too). */
export function signingKeyAdmin(c: Context<AppEnv>, audit: AdminStore): SigningKeyAdmin {
  const ctx = c.var.ctx;
  return new SigningKeyAdmin(
    ctx.env.DB,
    audit,
    ctx.stores.signingKeys,
    ctx.settings,
    ctx.env.SIGNING_KEYS,
    ctx.env.DATA_ENCRYPTION_KEY,
  );
}

function frame(admin: Admin) {
  return { adminName: admin.adminName, csrf: admin.csrf };
}

async function keysPage(
  c: Context<AppEnv>,
  admin: Admin,
  extra: { notice?: string; error?: FieldProblem } = {},
  status: 200 | 400 = 200,
) {
  const overview = await signingKeyAdmin(c, admin.store).overview();
  return render(c, <KeysPage {...frame(admin)} overview={overview} {...extra} />, status);
}

async function listKeys(c: Context<AppEnv>, admin: Admin) {
  return keysPage(c, admin);
}

async function addKey(c: Context<AppEnv>, admin: Admin, form: Form) {
  try {
    const key = await signingKeyAdmin(c, admin.store).add(form.get("alg") ?? "", admin.actor);
    const from = key.signs_from === null ? "" : ` It signs from ${formatTime(key.signs_from)}.`;
    return keysPage(c, admin, { notice: `Key ${key.kid} added: /jwks lists it now.${from}` });
  } catch (error) {
    if (!(error instanceof KeyInputError)) throw error;
    return keysPage(c, admin, { error: { field: error.field, message: error.message } }, 400);
  }
}

async function keyPage(
  c: Context<AppEnv>,
  admin: Admin,
  extra: { notice?: string; error?: FieldProblem } = {},
  status: 200 | 400 | 401 | 409 = 200,
) {
  const keys = signingKeyAdmin(c, admin.store);
  const kid = c.req.param("kid") ?? "";
  const key = (await keys.overview()).keys.find((candidate) => candidate.kid === kid && candidate.source === "console");
  const effect = key ? await keys.retireEffect(kid) : undefined;
  if (!key || !effect) {
    const message = "No console key has this kid (the keys of the SIGNING_KEYS secret are listed on the keys page).";
    return render(c, <MessagePage title="No such key" message={message} />, 404);
  }
  return render(c, <KeyPage {...frame(admin)} signingKey={key} effect={effect} {...extra} />, status);
}

async function showKey(c: Context<AppEnv>, admin: Admin) {
  return keyPage(c, admin);
}

async function retireKey(c: Context<AppEnv>, admin: Admin, form: Form) {
  if (!(await reauthenticated(admin, form.get("password")))) {
    const error = { field: "password", message: "That is not your password. Nothing was retired." };
    return keyPage(c, admin, { error }, 401);
  }
  const effect = await signingKeyAdmin(c, admin.store).retire(c.req.param("kid") ?? "", admin.actor);
  if (!effect) return keyPage(c, admin);
  if (effect.refused) return keyPage(c, admin, { error: { field: "kid", message: effect.refused } }, 409);
  const until = formatTime(effect.remove_after);
  return keyPage(c, admin, { notice: `Retired: it no longer signs, and /jwks lists it until ${until}.` });
}
