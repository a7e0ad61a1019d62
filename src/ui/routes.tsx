/**
 * The user's side, as server-rendered pages (no JavaScript): sign-in and sign-out, the list of
 * pending backchannel requests, and each request's Approve / Deny page. Every page carries
 * strict security headers; every form is CSRF-protected; bad input gets an HTML page with a
 * 4xx status, never a 5xx.
 */
import type { Context, Hono } from "hono";
import { ACR_PHISHING_RESISTANT } from "../authn/acr";
import { BackchannelAuthenticationInteractionService } from "../ciba/interaction-service";
import { expiresAt } from "../ciba/model";
import { loginRequestView } from "../ciba/notifications";
import { randomHandle } from "../crypto/hash";
import { hashPassword, verifyPassword } from "../crypto/password";
import type { AppEnv } from "../http/app-env";
import { readForm } from "../http/form";
import { route } from "../http/route";
import { logger } from "../log";
import { logOutSession } from "../logout/sign-out";
import { PATHS } from "../routes";
import type { Session } from "../sessions/session-store";
import { accountPage, withdrawPage } from "./account-pages";
import { currentSession, endSession, startSession } from "./browser-session";
import { PendingListPage, RequestPage } from "./ciba-pages";
import { csrfToken, validCsrf } from "./csrf";
import { MessagePage } from "./layout";
import { mountLive } from "./live";
import { endSessionPage } from "./logout-pages";
import { page, pageSecurityHeaders, render, stylesheet } from "./page";
import { stepUpAmr, stepUpBinding } from "./passkeys";
import { safeReturnTo } from "./return-to";
import { SignInPage } from "./signin-page";

export function mountUserPages(app: Hono<AppEnv>): void {
  // Every page, and anything else under the pages' folders (a mistyped request id, an asset).
  const assets = PATHS.stylesheet.slice(0, PATHS.stylesheet.lastIndexOf("/"));
  for (const path of [PATHS.signIn, PATHS.signOut, PATHS.cibaRequests, `${PATHS.cibaRequests}/*`, `${assets}/*`]) {
    app.use(path, pageSecurityHeaders);
  }
  route(app, PATHS.stylesheet, { GET: stylesheet });
  // Compared against when the username is unknown, so both cases take the same time. Made once
  // per provider, on first use.
  let decoyHash: Promise<string> | undefined;
  const decoy = () => {
    decoyHash ??= hashPassword(randomHandle());
    return decoyHash;
  };
  route(app, PATHS.signIn, { GET: page(showSignIn), POST: page((c) => signIn(c, decoy)) });
  route(app, PATHS.signOut, { POST: page(signOut) });
  // OpenID RP-Initiated Logout 1.0 (./logout-pages.tsx).
  app.use(PATHS.endSession, pageSecurityHeaders);
  route(app, PATHS.endSession, { GET: page(endSessionPage), POST: page(endSessionPage) });
  // The user's account (./account-pages.tsx).
  app.use(PATHS.account, pageSecurityHeaders);
  app.use(`${PATHS.account}/*`, pageSecurityHeaders);
  route(app, PATHS.account, { GET: page(accountPage) });
  route(app, PATHS.accountWithdraw, { POST: page(withdrawPage) });
  route(app, PATHS.cibaRequests, { GET: page(listPending) });
  // The list's live updates (./live.ts), before /ciba/requests/:internalId and its fallbacks.
  mountLive(app);
  route(app, PATHS.cibaRequest, { GET: page(showRequest), POST: page(answerRequest) });
}

/** `return_to` from the query or form, reduced to a path on this site (see return-to.ts). */
function returnToOf(c: Context<AppEnv>, value: string | undefined): string {
  return safeReturnTo(value, c.var.ctx.settings.issuer, c.var.ctx.routes);
}

function signInRedirect(c: Context<AppEnv>): Response {
  // The path as the browser sent it (percent-encoded), not Hono's decoded c.req.path.
  const signIn = c.var.ctx.routes.path("signIn");
  return c.redirect(`${signIn}?return_to=${encodeURIComponent(new URL(c.req.url).pathname)}`, 303);
}

async function displayName(c: Context<AppEnv>, session: Session): Promise<string> {
  const user = await c.var.ctx.stores.users.findBySubject(session.subject);
  return user?.name ?? user?.username ?? "you";
}

// Sign-in

async function showSignIn(c: Context<AppEnv>) {
  const returnTo = returnToOf(c, c.req.query("return_to"));
  // prompt=login (or an exceeded max_age) asks for the password even with a live session.
  if (c.req.query("prompt") !== "login" && (await currentSession(c))) return c.redirect(returnTo, 303);
  return render(c, <SignInPage csrf={await csrfToken(c)} returnTo={returnTo} />);
}

async function signIn(c: Context<AppEnv>, decoy: () => Promise<string>) {
  const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  const returnTo = returnToOf(c, form.get("return_to"));
  const username = (form.get("username") ?? "").slice(0, 128);
  const csrf = await csrfToken(c);
  if (!(await validCsrf(c, form.get("csrf")))) {
    return render(
      c,
      <SignInPage csrf={csrf} returnTo={returnTo} error="This form had expired. Please try again." />,
      403,
    );
  }
  if (!(await withinSignInLimits(c, username))) {
    const error = "Too many sign-in attempts. Wait a minute, then try again.";
    return render(c, <SignInPage csrf={csrf} returnTo={returnTo} error={error} username={username} />, 429);
  }
  const user = username ? await c.var.ctx.stores.users.findByUsername(username) : undefined;
  const passwordOk = await verifyPassword(form.get("password") ?? "", user?.password_hash ?? (await decoy()));
  if (!user || !passwordOk) {
    logger.info("signin_failed", { known_user: Boolean(user) });
    // One message for an unknown user and a wrong password: the page must not reveal which.
    const error = "The username or password is not right.";
    return render(c, <SignInPage csrf={csrf} returnTo={returnTo} error={error} username={username} />, 401);
  }
  await startSession(c, user.sub);
  return c.redirect(returnTo, 303);
}

async function withinSignInLimits(c: Context<AppEnv>, username: string): Promise<boolean> {
  const address = c.req.header("cf-connecting-ip") ?? "unknown";
  const [byAddress, byUsername] = await Promise.all([
    c.var.ctx.env.SIGNIN_BY_ADDRESS.limit({ key: address }),
    c.var.ctx.env.SIGNIN_BY_USERNAME.limit({ key: username.toLowerCase() }),
  ]);
  return byAddress.success && byUsername.success;
}

async function signOut(c: Context<AppEnv>) {
  const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  if (!(await validCsrf(c, form.get("csrf")))) {
    return render(
      c,
      <MessagePage title="Not signed out" message="This form had expired. Go back, reload the page and try again." />,
      403,
    );
  }
  // Revokes the session's grants without offline_access and tells the clients (src/logout/sign-out.ts).
  const session = await currentSession(c);
  if (session) await logOutSession(c.var.ctx, session);
  await endSession(c);
  return render(
    c,
    <MessagePage
      title="Signed out"
      message="You are signed out."
      link={{ href: c.var.ctx.routes.path("signIn"), text: "Sign in again" }}
    />,
  );
}

// CIBA requests

async function listPending(c: Context<AppEnv>) {
  const session = await currentSession(c);
  if (!session) return signInRedirect(c);
  const requests = await new BackchannelAuthenticationInteractionService(
    c.var.ctx,
  ).getPendingLoginRequestsForCurrentUser({
    subject: session.subject,
  });
  return render(
    c,
    <PendingListPage requests={requests} signedInAs={await displayName(c, session)} csrf={await csrfToken(c)} />,
  );
}

/** The request if it is this user's and still open; otherwise the page that says why not. */
async function openRequestFor(c: Context<AppEnv>, session: Session) {
  const internalId = c.req.param("internalId") ?? "";
  const request = await c.var.ctx.stores.backchannelRequests.getByInternalId(internalId);
  const frame = { signedInAs: await displayName(c, session), csrf: await csrfToken(c) };
  const refusal = (title: string, message: string, status: 404 | 409 | 410) => ({
    request: undefined,
    page: render(
      c,
      <MessagePage
        title={title}
        message={message}
        {...frame}
        link={{ href: c.var.ctx.routes.path("cibaRequests"), text: "See your requests" }}
      />,
      status,
    ),
  });
  // Another user's request gets the same answer as a missing one: nothing leaks about it.
  if (!request || request.subject !== session.subject) {
    return refusal("Request not found", "This request does not exist any more, or it is not for this account.", 404);
  }
  if (request.isComplete) {
    const answer = request.status === "denied" ? "denied" : "approved";
    return refusal("Already answered", `You already ${answer} this request.`, 409);
  }
  if (expiresAt(request) <= Math.floor(Date.now() / 1000)) {
    return refusal("Request expired", "This request has expired. Start again on the other device.", 410);
  }
  return { request, frame };
}

async function showRequest(c: Context<AppEnv>) {
  const session = await currentSession(c);
  if (!session) return signInRedirect(c);
  const open = await openRequestFor(c, session);
  if (!open.request) return open.page;
  const view = loginRequestView(c.var.ctx.settings, open.request);
  // RFC 9396: each detail as the sentence the user approves: the text rendered with the request,
  // which the authenticator API and the notices carry too (rendered now for an older request).
  const details =
    view.authorizationDetailsText.length === view.authorizationDetails.length
      ? view.authorizationDetailsText
      : view.authorizationDetails.map((detail) => c.var.ctx.authorizationDetails.render(detail));
  return render(c, <RequestPage request={view} details={details} {...open.frame} />);
}

async function answerRequest(c: Context<AppEnv>) {
  const session = await currentSession(c);
  if (!session) return signInRedirect(c);
  const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes, { multiValued: ["scope"] });
  const frame = { signedInAs: await displayName(c, session), csrf: await csrfToken(c) };
  if (!(await validCsrf(c, form.get("csrf")))) {
    return render(
      c,
      <MessagePage
        title="Not sent"
        message="This form had expired. Go back, reload the page and answer again."
        {...frame}
      />,
      403,
    );
  }
  const action = form.get("action");
  if (action !== "approve" && action !== "deny") {
    return render(c, <MessagePage title="Not sent" message="Choose Approve or Deny." {...frame} />, 400);
  }
  const open = await openRequestFor(c, session);
  if (!open.request) return open.page;
  // A phr request: the passkey assertion made for this approval (./passkeys.tsx), or a refusal.
  const stepUp =
    action === "approve" && open.request.authenticationContextReferenceClasses.includes(ACR_PHISHING_RESISTANT)
      ? await stepUpAmr(c, stepUpBinding(open.request.internalId, session), session, form.get("passkey_assertion"))
      : undefined;
  const outcome = await new BackchannelAuthenticationInteractionService(c.var.ctx).completeLoginRequest(
    {
      internalId: open.request.internalId,
      scopesValuesConsented: action === "approve" ? ["openid", ...form.getAll("scope")] : [],
      description: form.get("description")?.slice(0, 200),
      ...(stepUp && { amr: [...stepUp] }),
    },
    { subject: session.subject, sessionId: session.sid, authTime: session.authTime, amr: session.amr },
  );
  if (!outcome.ok) {
    const message =
      outcome.reason === "scope_not_requested"
        ? "You ticked something this request did not ask for."
        : outcome.reason === "step_up_required"
          ? "This request asks you to confirm with a passkey. Go back and approve with your passkey."
          : "This request can no longer be answered.";
    return render(
      c,
      <MessagePage title="Not sent" message={message} {...frame} />,
      outcome.reason === "scope_not_requested" ? 400 : outcome.reason === "step_up_required" ? 403 : 409,
    );
  }
  const approved = outcome.request.status === "approved";
  const title = approved ? "Approved" : "Denied";
  const message = approved
    ? `You approved the request from ${open.request.clientName}. You can go back to the other device.`
    : `You denied the request from ${open.request.clientName}. It gets nothing.`;
  return render(
    c,
    <MessagePage
      title={title}
      message={message}
      {...frame}
      link={{ href: c.var.ctx.routes.path("cibaRequests"), text: "See your other requests" }}
    />,
  );
}
