/**
 * The administration console (issue 17) as server-rendered pages without JavaScript. Every
 * route checks the admin first (./guard.tsx), every form its CSRF token, every change writes an
 * audit row in the same D1 batch (src/admin/), and removing a client asks for the password again.
 */
import type { Context, Hono } from "hono";
import { type ClientFormValues, clientFormValues, formValuesOf, registrationFromForm } from "../../admin/client-form";
import { CLIENT_TEMPLATES, clientTemplate } from "../../admin/client-templates";
import { ClientAdmin, ClientConflictError } from "../../admin/clients";
import { AUTH_METHODS, usesSecret } from "../../clients/metadata";
import type { AppEnv } from "../../http/app-env";
import { readForm } from "../../http/form";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { validCsrf } from "../csrf";
import { MessagePage } from "../layout";
import { page, pageSecurityHeaders, render } from "../page";
import { hasPasskeys } from "../passkeys";
import { apiCaller, mountAdminApi } from "./api";
import { ADMIN_CSS } from "./assets";
import { ClientFormPage, ClientListPage, ClientPage, TemplatePage } from "./client-pages";
import { mountDeliveryFailurePages } from "./delivery-failures";
import { type Admin, reauthenticated, requireAdmin } from "./guard";
import { AuditPage, OverviewPage } from "./pages";
import { mountCertificatePages } from "./pki-routes";
import { mountAdminStepUp, STEP_UP_CSP } from "./step-up";
import { isStepUpPath } from "./step-up-rule";
import { mountUserAndKeyPages } from "./user-routes";

type AdminHandler = (c: Context<AppEnv>, admin: Admin) => Promise<Response>;

/** A console page: the admin check first, then the handler. */
function adminPage(handler: AdminHandler) {
  return page(async (c) => {
    const check = await requireAdmin(c);
    if (check.refusal) return check.refusal;
    return handler(c, check.admin);
  });
}

/** A console form: the admin check, then the CSRF token, then the handler with the form. */
function adminForm(handler: (c: Context<AppEnv>, admin: Admin, form: Form) => Promise<Response>) {
  return adminPage(async (c, admin) => {
    const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes, { multiValued: ["grant_types"] });
    if (!(await validCsrf(c, form.get("csrf")))) {
      const message = "This form had expired. Go back, reload the page and try again.";
      return render(c, <MessagePage title="Not saved" message={message} />, 403);
    }
    return handler(c, admin, form);
  });
}

type Form = Awaited<ReturnType<typeof readForm>>;

/**
 * The console's headers: the user pages' (CSP without inline code, no framing, no-store) plus
 * `form-action 'self'`, which the sign-in page cannot have but the console can: none of its
 * forms leads off this origin.
 */
const adminHeaders = pageSecurityHeaders;
const CONSOLE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function mountAdminConsole(app: Hono<AppEnv>): void {
  for (const path of [PATHS.admin, `${PATHS.admin}/*`]) {
    app.use(path, async (c, next) => {
      await next();
      // The passkey step-up page alone runs a script (./step-up.tsx).
      c.header("Content-Security-Policy", isStepUpPath(c) ? STEP_UP_CSP : CONSOLE_CSP);
    });
    app.use(path, adminHeaders);
    // Refuses anyone but an admin before routing, so a non-admin gets 403 (or the sign-in page)
    // for every method on every console path, never a 404 or 405 that would map the console.
    // Each handler checks again and gets the admin from that check.
    app.use(path, async (c, next) => {
      const api = c.var.ctx.routes.path("adminApi");
      if (c.req.path === api || c.req.path.startsWith(`${api}/`)) {
        // The API's callers (session or operator token) are checked by apiCaller; refusals are JSON.
        await apiCaller(c);
        return next();
      }
      const check = await requireAdmin(c);
      if (check.refusal) return check.refusal;
      await next();
    });
  }
  route(app, PATHS.adminStylesheet, {
    GET: (c) =>
      c.body(ADMIN_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=3600" }),
  });
  route(app, PATHS.admin, { GET: adminPage(overview) });
  route(app, PATHS.adminAudit, { GET: adminPage(audit) });
  route(app, PATHS.adminClients, { GET: adminPage(listClients) });
  route(app, PATHS.adminClientNew, { GET: adminPage(newClient), POST: adminForm(createClient) });
  route(app, PATHS.adminClient, { GET: adminPage(showClient) });
  route(app, PATHS.adminClientEdit, { GET: adminPage(editClient), POST: adminForm(updateClient) });
  route(app, PATHS.adminClientDisable, { POST: adminForm(disableClient) });
  route(app, PATHS.adminClientRemove, { POST: adminForm(removeClient) });
  mountCertificatePages(app, adminPage, adminForm);
  mountUserAndKeyPages(app, adminPage, adminForm);
  mountDeliveryFailurePages(app, adminPage);
  mountAdminStepUp(app);
  mountAdminApi(app);
}

function clients(c: Context<AppEnv>, admin: Admin): ClientAdmin {
  return new ClientAdmin(c.var.ctx.env.DB, admin.store, c.var.ctx.env.DATA_ENCRYPTION_KEY);
}

function frame(admin: Admin) {
  return { adminName: admin.adminName, csrf: admin.csrf };
}

async function overview(c: Context<AppEnv>, admin: Admin) {
  const [list, trail, passkeys] = await Promise.all([
    clients(c, admin).list("", 1000),
    admin.store.auditTrail(10),
    hasPasskeys(c, admin.session.subject),
  ]);
  return render(c, <OverviewPage {...frame(admin)} clients={list.length} audit={trail} hasPasskey={passkeys} />);
}

const AUDIT_PAGE = 50;

async function audit(c: Context<AppEnv>, admin: Admin) {
  const before = Number.parseInt(c.req.query("before") ?? "", 10);
  const entries = await admin.store.auditTrail(AUDIT_PAGE, Number.isSafeInteger(before) ? before : undefined);
  const last = entries.at(-1);
  const olderHref =
    entries.length === AUDIT_PAGE && last ? `${c.var.ctx.routes.path("adminAudit")}?before=${last.id}` : undefined;
  return render(c, <AuditPage {...frame(admin)} entries={entries} olderHref={olderHref} />);
}

async function listClients(c: Context<AppEnv>, admin: Admin) {
  const search = (c.req.query("q") ?? "").slice(0, 128);
  const list = await clients(c, admin).list(search);
  return render(c, <ClientListPage {...frame(admin)} clients={list} search={search} />);
}

async function newClient(c: Context<AppEnv>, admin: Admin) {
  const template = clientTemplate(c.req.query("template"));
  if (!template) return render(c, <TemplatePage {...frame(admin)} templates={CLIENT_TEMPLATES} />);
  // "Add a client with this subject" on an issued certificate's page.
  const subject = c.req.query("subject")?.slice(0, 1000);
  const values = subject ? { ...template.values, tls_client_auth_subject_dn: subject } : template.values;
  return render(c, <ClientFormPage {...frame(admin)} mode="create" values={values} templateTitle={template.title} />);
}

function validate(c: Context<AppEnv>, values: ClientFormValues, secret: string | undefined) {
  const settings = c.var.ctx.settings;
  return registrationFromForm(values, secret, settings.scopesSupported, settings.allowHttpNotificationEndpoints);
}

async function createClient(c: Context<AppEnv>, admin: Admin, form: Form) {
  const values = clientFormValues(form);
  const secret = isSecretMethod(values.token_endpoint_auth_method) ? ClientAdmin.newSecret() : undefined;
  const result = validate(c, values, secret);
  if (!result.ok) {
    const error = { field: result.field, message: result.message };
    return render(c, <ClientFormPage {...frame(admin)} mode="create" values={values} error={error} />, 400);
  }
  const store = clients(c, admin);
  try {
    await store.create(result.registration, admin.actor);
  } catch (error) {
    if (!(error instanceof ClientConflictError)) throw error;
    const taken = { field: "client_id" as const, message: "A client with this ID exists already." };
    return render(c, <ClientFormPage {...frame(admin)} mode="create" values={values} error={taken} />, 409);
  }
  const entry = await store.get(result.registration.client_id);
  if (!entry) throw new Error("client vanished right after it was created");
  // The secret is in this one answer (no-store) and nowhere else: the row holds its hash.
  return render(c, <ClientPage {...frame(admin)} entry={entry} secret={secret} notice="Client added." />, 201);
}

async function clientOr404(c: Context<AppEnv>, admin: Admin) {
  const entry = await clients(c, admin).get(c.req.param("clientId") ?? "");
  if (entry) return { entry };
  const link = { href: c.var.ctx.routes.path("adminClients"), text: "All clients" };
  return {
    notFound: await render(
      c,
      <MessagePage title="No such client" message="It may have been removed." link={link} />,
      404,
    ),
  };
}

async function showClient(c: Context<AppEnv>, admin: Admin) {
  const found = await clientOr404(c, admin);
  if (!found.entry) return found.notFound;
  return render(c, <ClientPage {...frame(admin)} entry={found.entry} />);
}

async function editClient(c: Context<AppEnv>, admin: Admin) {
  const found = await clientOr404(c, admin);
  if (!found.entry) return found.notFound;
  return render(c, <ClientFormPage {...frame(admin)} mode="edit" values={formValuesOf(found.entry.client)} />);
}

async function updateClient(c: Context<AppEnv>, admin: Admin, form: Form) {
  const found = await clientOr404(c, admin);
  if (!found.entry) return found.notFound;
  const values = { ...clientFormValues(form), client_id: found.entry.client.client_id };
  const method = found.entry.client.token_endpoint_auth_method;
  if (
    values.token_endpoint_auth_method !== method &&
    (usesSecret(method) || isSecretMethod(values.token_endpoint_auth_method))
  ) {
    // A secret is made only at creation: switching to or from a secret method is a new client.
    const error = {
      field: "token_endpoint_auth_method" as const,
      message: "Switching to or from a secret method needs a new client (the secret is made once, at creation).",
    };
    return render(c, <ClientFormPage {...frame(admin)} mode="edit" values={values} error={error} />, 400);
  }
  // The stored secret is kept; validation only needs to know there is one.
  const settings = c.var.ctx.settings;
  const result = registrationFromForm(
    values,
    usesSecret(method) ? "x".repeat(64) : undefined,
    settings.scopesSupported,
    settings.allowHttpNotificationEndpoints,
    found.entry.client,
  );
  if (!result.ok) {
    const error = { field: result.field, message: result.message };
    return render(c, <ClientFormPage {...frame(admin)} mode="edit" values={values} error={error} />, 400);
  }
  await clients(c, admin).update(result.registration, admin.actor);
  return c.redirect(c.var.ctx.routes.path("adminClient", { clientId: values.client_id }), 303);
}

function isSecretMethod(method: string): boolean {
  return AUTH_METHODS.some((known) => known === method && usesSecret(known));
}

async function disableClient(c: Context<AppEnv>, admin: Admin, form: Form) {
  const found = await clientOr404(c, admin);
  if (!found.entry) return found.notFound;
  await clients(c, admin).setDisabled(found.entry.client.client_id, form.get("disabled") === "true", admin.actor);
  return c.redirect(c.var.ctx.routes.path("adminClient", { clientId: found.entry.client.client_id }), 303);
}

async function removeClient(c: Context<AppEnv>, admin: Admin, form: Form) {
  const found = await clientOr404(c, admin);
  if (!found.entry) return found.notFound;
  if (!(await reauthenticated(admin, form.get("password")))) {
    const error = "That is not your password. Nothing was removed.";
    return render(c, <ClientPage {...frame(admin)} entry={found.entry} reauthError={error} />, 401);
  }
  await clients(c, admin).remove(found.entry.client.client_id, admin.actor);
  const link = { href: c.var.ctx.routes.path("adminClients"), text: "All clients" };
  const message = `Client ${found.entry.client.client_id} was removed.`;
  return render(c, <MessagePage title="Client removed" message={message} link={link} />);
}
