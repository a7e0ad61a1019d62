/**
 * The console's user routes (list, search, add, disable and enable, reset password, set or
 * clear the CIBA user_code, the user's pending requests with their notification status); the signing
 * key pages are mounted from here too (./key-routes.tsx). Every change writes its audit row
 * (src/admin/users.ts).
 */
import type { Context, Handler, Hono } from "hono";
import { endGrantsOf, pendingRequestsOf, UserAdmin, UserInputError } from "../../admin/users";
import type { AppEnv } from "../../http/app-env";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { MessagePage } from "../layout";
import { render } from "../page";
import type { Admin } from "./guard";
import { mountKeyPages } from "./key-routes";
import { UserListPage, UserPage } from "./user-pages";

type Form = { get(name: string): string | undefined };
type Page = (handler: (c: Context<AppEnv>, admin: Admin) => Promise<Response>) => Handler<AppEnv>;
type FormPage = (handler: (c: Context<AppEnv>, admin: Admin, form: Form) => Promise<Response>) => Handler<AppEnv>;

export function mountUserAndKeyPages(app: Hono<AppEnv>, adminPage: Page, adminForm: FormPage): void {
  route(app, PATHS.adminUsers, { GET: adminPage(listUsers), POST: adminForm(addUser) });
  route(app, PATHS.adminUserPassword, { POST: adminForm(resetPassword) });
  route(app, PATHS.adminUserCode, { POST: adminForm(setUserCode) });
  route(app, PATHS.adminUserDisable, { POST: adminForm(setDisabled) });
  route(app, PATHS.adminUser, { GET: adminPage(showUser) });
  mountKeyPages(app, adminPage, adminForm);
}

function users(c: Context<AppEnv>, admin: Admin): UserAdmin {
  return new UserAdmin(c.var.ctx.env.DB, admin.store, c.var.ctx.env.DATA_ENCRYPTION_KEY);
}

function frame(admin: Admin) {
  return { adminName: admin.adminName, csrf: admin.csrf };
}

async function listUsers(c: Context<AppEnv>, admin: Admin) {
  const search = (c.req.query("q") ?? "").slice(0, 128);
  return render(c, <UserListPage {...frame(admin)} users={await users(c, admin).list(search)} search={search} />);
}

async function addUser(c: Context<AppEnv>, admin: Admin, form: Form) {
  const optional = (name: string) => (form.get(name) ?? "").trim().slice(0, 200) || undefined;
  try {
    const sub = await users(c, admin).create(
      {
        username: (form.get("username") ?? "").trim(),
        password: form.get("password") ?? "",
        name: optional("name"),
        email: optional("email"),
      },
      admin.actor,
    );
    return c.redirect(c.var.ctx.routes.path("adminUser", { sub }), 303);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    const list = await users(c, admin).list();
    const problem = { field: error.field, message: error.message };
    return render(c, <UserListPage {...frame(admin)} users={list} search="" error={problem} />, 400);
  }
}

async function userPage(
  c: Context<AppEnv>,
  admin: Admin,
  extra: { notice?: string; error?: { field: string; message: string } } = {},
  status: 200 | 400 = 200,
) {
  const user = await users(c, admin).get(c.req.param("sub") ?? "");
  if (!user) return render(c, <MessagePage title="No such user" message="It may have been removed." />, 404);
  const pending = await pendingRequestsOf(c.var.ctx, user.sub);
  return render(c, <UserPage {...frame(admin)} user={user} pending={pending} {...extra} />, status);
}

async function showUser(c: Context<AppEnv>, admin: Admin) {
  return userPage(c, admin);
}

async function resetPassword(c: Context<AppEnv>, admin: Admin, form: Form) {
  const store = users(c, admin);
  const user = await store.get(c.req.param("sub") ?? "");
  if (!user) return userPage(c, admin);
  try {
    await store.resetPassword(user.sub, form.get("new_password") ?? "", admin.actor);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return userPage(c, admin, { error: { field: error.field, message: error.message } }, 400);
  }
  return userPage(c, admin, { notice: "Password reset; the user's sessions ended." });
}

async function setUserCode(c: Context<AppEnv>, admin: Admin, form: Form) {
  const store = users(c, admin);
  const user = await store.get(c.req.param("sub") ?? "");
  if (!user) return userPage(c, admin);
  const clear = form.get("action") === "clear";
  try {
    await store.setUserCode(user.sub, clear ? undefined : (form.get("user_code") ?? ""), admin.actor);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return userPage(c, admin, { error: { field: error.field, message: error.message } }, 400);
  }
  return userPage(c, admin, { notice: clear ? "user_code cleared." : "user_code set." });
}

async function setDisabled(c: Context<AppEnv>, admin: Admin, form: Form) {
  const store = users(c, admin);
  const user = await store.get(c.req.param("sub") ?? "");
  if (!user) return userPage(c, admin);
  const disable = form.get("disabled") !== "false";
  await store.setDisabled(user.sub, disable, admin.actor);
  if (disable) await endGrantsOf(c.var.ctx, user.sub);
  return userPage(c, admin, {
    notice: disable ? "User disabled; their sessions ended and their tokens were revoked." : "User enabled.",
  });
}
