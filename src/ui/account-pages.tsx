/**
 * The signed-in user's account page (`/account`, issue 15), server-rendered like /ciba and
 * working without JavaScript: the clients the user has granted, each with a CSRF-protected
 * "Withdraw" form that revokes its tokens (src/logout/account.ts), the user's recent answers
 * to backchannel requests, and the user's passkeys, to add and remove (./passkeys.tsx's list).
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { readForm } from "../http/form";
import { type GrantedClient, grantedClients, withdrawClient } from "../logout/account";
import type { CibaDecision } from "../logout/ciba-decisions";
import type { PasskeyCredential } from "../webauthn/credential";
import { currentSession } from "./browser-session";
import { csrfToken, validCsrf } from "./csrf";
import { Layout, MessagePage } from "./layout";
import { render } from "./page";
import { PasskeyList, passkeysOf } from "./passkeys";
import { useRoutes } from "./routes-context";

function signInRedirect(c: Context<AppEnv>): Response {
  const signIn = c.var.ctx.routes.path("signIn");
  return c.redirect(`${signIn}?return_to=${encodeURIComponent(c.var.ctx.routes.path("account"))}`, 303);
}

export async function accountPage(c: Context<AppEnv>): Promise<Response> {
  const session = await currentSession(c);
  if (!session) return signInRedirect(c);
  const [clients, decisions, user, passkeys] = await Promise.all([
    grantedClients(c.var.ctx, session.subject),
    c.var.ctx.stores.cibaDecisions.recent(session.subject),
    c.var.ctx.stores.users.findBySubject(session.subject),
    passkeysOf(c, session.subject),
  ]);
  const notice = c.req.query("withdrawn") ? "Access withdrawn. Its tokens no longer work." : undefined;
  return render(
    c,
    <AccountPage
      clients={clients}
      decisions={decisions}
      passkeys={passkeys}
      csrf={await csrfToken(c)}
      signedInAs={user?.name ?? user?.username ?? "you"}
      notice={notice}
    />,
  );
}

export async function withdrawPage(c: Context<AppEnv>): Promise<Response> {
  const session = await currentSession(c);
  if (!session) return signInRedirect(c);
  const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  if (!(await validCsrf(c, form.get("csrf")))) {
    const message = "This form had expired. Go back, reload the page and try again.";
    return render(c, <MessagePage title="Nothing was withdrawn" message={message} />, 403);
  }
  const clientId = c.req.param("clientId") ?? "";
  if (!(await withdrawClient(c.var.ctx, session.subject, clientId))) {
    const message = "You have granted nothing to this application.";
    const link = { href: c.var.ctx.routes.path("account"), text: "Back to your account" };
    return render(c, <MessagePage title="Nothing to withdraw" message={message} link={link} />, 404);
  }
  return c.redirect(`${c.var.ctx.routes.path("account")}?withdrawn=1`, 303);
}

const day = (epoch: number) => new Date(epoch * 1000).toISOString().slice(0, 10);

function AccountPage(props: {
  clients: GrantedClient[];
  decisions: CibaDecision[];
  passkeys: PasskeyCredential[];
  csrf: string;
  signedInAs: string;
  notice?: string;
}) {
  const routes = useRoutes();
  return (
    <Layout title="Your account" signedInAs={props.signedInAs} csrf={props.csrf}>
      <h1>Your account</h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      <h2>Applications with access</h2>
      {props.clients.length === 0 ? <p class="muted">You have not granted any application access.</p> : null}
      {props.clients.map((client) => (
        <section class="card" data-testid="granted-client">
          <strong>{client.clientName}</strong>
          <p class="muted">{client.scopes.join(" ")}</p>
          <p class="muted">
            {[
              client.consentedAt ? `Consent remembered since ${day(client.consentedAt)}` : undefined,
              client.grants > 0
                ? `${client.grants} active grant${client.grants === 1 ? "" : "s"}${client.refreshFamilies > 0 ? ` (${client.refreshFamilies} with refresh tokens)` : ""}, last on ${day(client.lastIssuedAt ?? 0)}`
                : undefined,
            ]
              .filter(Boolean)
              .join(" · ")}
          </p>
          <form method="post" action={routes.path("accountWithdraw", { clientId: client.clientId })}>
            <input type="hidden" name="csrf" value={props.csrf} />
            <button type="submit" class="danger">
              {`Withdraw access of ${client.clientName}`}
            </button>
          </form>
        </section>
      ))}
      <h2>Recent sign-in requests</h2>
      {props.decisions.length === 0 ? <p class="muted">No recent requests.</p> : null}
      <ul class="scopes">
        {props.decisions.map((decision) => (
          <li data-testid="ciba-decision">
            {`${day(decision.decidedAt)} · ${decision.clientName} · ${decision.decision}`}
            {decision.scopes.length > 0 ? ` (${decision.scopes.join(" ")})` : ""}
            {decision.bindingMessage ? ` · “${decision.bindingMessage}”` : ""}
          </li>
        ))}
      </ul>
      <h2>Passkeys</h2>
      <PasskeyList passkeys={props.passkeys} csrf={props.csrf} back="account" />
    </Layout>
  );
}
