/**
 * OpenID RP-Initiated Logout 1.0 at the end_session_endpoint, as a page (no JavaScript): a
 * logout request is checked (src/logout/end-session.ts), then the browser session ends at once
 * when an id_token_hint for this very session vouches for the RP, and otherwise only after the
 * user confirms on a CSRF-protected form (§2: the OP "SHOULD ask the End-User whether to log
 * out"; without a hint anyone's page could sign the user out). Ending the session revokes and
 * notifies (src/logout/sign-out.ts); then the browser goes to the registered
 * post_logout_redirect_uri with state, or sees a "Signed out" page.
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { readForm } from "../http/form";
import { type CheckedEndSession, checkEndSessionRequest, type EndSessionParams } from "../logout/end-session";
import { logOutSession } from "../logout/sign-out";
import type { Session } from "../sessions/session-store";
import { currentSession, endSession } from "./browser-session";
import { csrfToken, validCsrf } from "./csrf";
import { Layout, MessagePage } from "./layout";
import { render } from "./page";
import { useRoutes } from "./routes-context";

const PARAMS = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"] as const;

/** §2: the request may come by GET (query) or POST (form); the confirmation comes back by POST. */
export async function endSessionPage(c: Context<AppEnv>): Promise<Response> {
  const form = c.req.method === "POST" ? await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes) : undefined;
  const read = (name: string) => (form ? form.get(name) : c.req.query(name)) || undefined;
  const params: EndSessionParams = {};
  for (const name of PARAMS) params[name] = read(name);
  const confirmed = form?.get("confirm") === "yes";
  if (confirmed && !(await validCsrf(c, form?.get("csrf")))) {
    const message = "This form had expired. Go back, reload the page and try again.";
    return render(c, <MessagePage title="Not signed out" message={message} />, 403);
  }
  const checked = await checkEndSessionRequest(c.var.ctx, params);
  const session = await currentSession(c);
  if (session && !confirmed && !hintVouchesFor(checked, session)) {
    return render(c, <ConfirmLogoutPage checked={checked} csrf={await csrfToken(c)} />);
  }
  if (session) await logOutSession(c.var.ctx, session);
  await endSession(c);
  if (checked.redirectTo) return c.redirect(checked.redirectTo, 303);
  return render(
    c,
    <MessagePage
      title="Signed out"
      message="You are signed out."
      link={{ href: c.var.ctx.routes.path("signIn"), text: "Sign in again" }}
    />,
  );
}

/** The hint names this user and, when it has one, this session: the RP was part of it. */
function hintVouchesFor(checked: CheckedEndSession, session: Session): boolean {
  const { hint } = checked;
  return hint !== undefined && hint.sub === session.subject && (hint.sid === undefined || hint.sid === session.sid);
}

function ConfirmLogoutPage({ checked, csrf }: { checked: CheckedEndSession; csrf: string }) {
  const routes = useRoutes();
  const who = checked.client ? checked.client.client_name : "A site";
  return (
    <Layout title="Sign out?">
      <h1>Sign out?</h1>
      <p>{`${who} asks to sign you out of edge-op.`}</p>
      <form method="post" action={routes.path("endSession")}>
        <input type="hidden" name="csrf" value={csrf} />
        <input type="hidden" name="confirm" value="yes" />
        {PARAMS.map((name) =>
          checked.params[name] !== undefined ? <input type="hidden" name={name} value={checked.params[name]} /> : null,
        )}
        <div class="actions">
          <button type="submit" class="primary">
            Sign out
          </button>
          <a href={routes.path("cibaRequests")}>Stay signed in</a>
        </div>
      </form>
    </Layout>
  );
}
