/**
 * The console's passkey step-up (issue 17; the rule in ./step-up-rule.ts):
 *   GET  /admin/step-up?return_to=<console path>  "Confirm with your passkey"
 *   POST /admin/step-up/options                   request options, the challenge bound to the
 *                                                 console and this session (X-CSRF-Token)
 *   POST /admin/step-up                           the form: csrf, return_to, passkey_assertion
 * The assertion is verified by the same code as a CIBA or /authorize step-up (../passkeys.tsx:
 * the signed-in user's own passkey, user verification, the sealed challenge for this binding,
 * claimed once in the user's ReplayGuard object), then recorded for the session, and the admin
 * goes on to the console page asked for. Both routes sit behind the console's admin check
 * (./routes.tsx), which lets them through before the step-up.
 */
import type { Context, Hono } from "hono";
import { InvalidRequest } from "../../errors";
import type { AppEnv } from "../../http/app-env";
import { readForm } from "../../http/form";
import { route } from "../../http/route";
import { PATHS } from "../../routes";
import { validCsrf } from "../csrf";
import { MessagePage } from "../layout";
import { page, render } from "../page";
import { PasskeyScript, stepUpAmr, stepUpOptionsFor } from "../passkeys";
import { safeReturnTo } from "../return-to";
import { useRoutes } from "../routes-context";
import { type Admin, requireAdmin } from "./guard";
import { AdminLayout } from "./layout";
import { adminStepUpBinding } from "./step-up-rule";

/**
 * The console's CSP plus what this page needs: /assets/passkeys.js and its same-origin fetch
 * of the options. Every other console page runs no script.
 */
export const STEP_UP_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function mountAdminStepUp(app: Hono<AppEnv>): void {
  route(app, PATHS.adminStepUp, { GET: page(withAdmin(showStepUp)), POST: page(withAdmin(confirmStepUp)) });
  route(app, PATHS.adminStepUpOptions, { POST: withAdmin(options) });
}

function withAdmin(handler: (c: Context<AppEnv>, admin: Admin) => Promise<Response>) {
  return async (c: Context<AppEnv>) => {
    const check = await requireAdmin(c);
    if (check.refusal) return check.refusal;
    return handler(c, check.admin);
  };
}

/** Where to go once confirmed: a console page (never the API or this page), else the overview. */
function consoleReturnTo(c: Context<AppEnv>, value: string | undefined): string {
  const { routes, settings } = c.var.ctx;
  const path = safeReturnTo(value, settings.issuer, routes);
  const { pathname } = new URL(path, settings.issuer);
  const admin = routes.path("admin");
  const api = routes.path("adminApi");
  const inConsole = pathname === admin || pathname.startsWith(`${admin}/`);
  const excluded =
    pathname === api || pathname.startsWith(`${api}/`) || pathname.startsWith(routes.path("adminStepUp"));
  return inConsole && !excluded ? path : admin;
}

async function showStepUp(c: Context<AppEnv>, admin: Admin) {
  const returnTo = consoleReturnTo(c, c.req.query("return_to"));
  // Nothing to confirm (signed in with a passkey, confirmed already, or no passkey): go on.
  if (!admin.passkeyStepUpPending) return c.redirect(returnTo, 303);
  return render(c, <StepUpPage adminName={admin.adminName} csrf={admin.csrf} returnTo={returnTo} />);
}

async function options(c: Context<AppEnv>, admin: Admin) {
  if (!(await validCsrf(c, c.req.header("x-csrf-token")))) {
    throw new InvalidRequest("the X-CSRF-Token header is missing or wrong", 403);
  }
  return stepUpOptionsFor(c, admin.session, adminStepUpBinding(admin.session));
}

async function confirmStepUp(c: Context<AppEnv>, admin: Admin) {
  const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  if (!(await validCsrf(c, form.get("csrf")))) {
    const message = "This form had expired. Go back, reload the page and try again.";
    return render(c, <MessagePage title="Not confirmed" message={message} />, 403);
  }
  const returnTo = consoleReturnTo(c, form.get("return_to"));
  // Throws (401/403, shown as a page) unless the assertion is this admin's, for this session's challenge, unused.
  await stepUpAmr(c, adminStepUpBinding(admin.session), admin.session, form.get("passkey_assertion"));
  await admin.store.confirmPasskey(admin.session.sid);
  return c.redirect(returnTo, 303);
}

function StepUpPage(props: { adminName: string; csrf: string; returnTo: string }) {
  const routes = useRoutes();
  return (
    <AdminLayout adminName={props.adminName} csrf={props.csrf} section="admin" title="Confirm with your passkey">
      <h1>Confirm with your passkey</h1>
      <p>
        You have a passkey, so the console asks for it once in each session signed in with a password. Confirm with it
        to go on.
      </p>
      <noscript>
        <p class="error">
          Confirming with a passkey needs JavaScript (WebAuthn). Turn it on, or sign in with your passkey instead.
        </p>
      </noscript>
      <form method="post" action={routes.path("adminStepUp")} id="answer-form">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="return_to" value={props.returnTo} />
        <input type="hidden" name="passkey_assertion" value="" />
        <div class="actions">
          <button type="button" id="passkey-approve" class="primary" hidden>
            Confirm with your passkey
          </button>
        </div>
      </form>
      <p id="passkey-status" class="error" role="status" />
      <PasskeyScript csrf={props.csrf} stepUp={routes.path("adminStepUpOptions")} />
    </AdminLayout>
  );
}
