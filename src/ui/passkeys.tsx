/**
 * Passkeys on the user's pages (issue 16), over src/webauthn (W3C WebAuthn Level 3 through
 * @simplewebauthn/server):
 *   GET  /passkeys                          the user's passkeys: add one, remove one
 *   POST /passkeys/register/options         creation options (session + X-CSRF-Token)
 *   POST /passkeys/register                 the new credential → stored (public key only)
 *   POST /passkeys/:credentialId/remove     a form
 *   POST /signin/passkey/options            request options for a sign-in without username
 *   POST /signin/passkey                    the assertion → a session with amr pop user mfa
 *   POST /ciba/requests/:internalId/passkey-options
 *                                           step-up options for approving a phr request
 *   POST /authorize/passkey-options?<the /authorize query>
 *                                           step-up options for approving a phr authorization
 *                                           request on the consent page
 * Each challenge is sealed in a short-lived cookie bound to its purpose and to the session, the
 * CSRF token (sign-in, before any session) or the request and session (step-up), and deleted
 * when used; a verified ceremony also claims it in the user's ReplayGuard object
 * (src/webauthn/challenge-fence.ts), so it completes exactly one ceremony. The browser side is /assets/passkeys.js (./pwa.ts). The RP is the issuer: its host
 * name as rp.id, its origin as the expected origin.
 */
import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { derivedSecret } from "../crypto/derived-keys";
import { OAuthError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { readBodyText, readForm } from "../http/form";
import { route } from "../http/route";
import { isRecord } from "../parse";
import { PATHS } from "../routes";
import type { Session } from "../sessions/session-store";
import { type ChallengePurpose, challengeCookie, openChallenge, sealChallenge } from "../webauthn/challenge";
import { claimChallenge } from "../webauthn/challenge-fence";
import type { PasskeyCredential } from "../webauthn/credential";
import {
  assertedCredentialId,
  authenticationOptions,
  PasskeyError,
  type RelyingParty,
  registrationOptions,
  verifyAuthentication,
  verifyRegistration,
} from "../webauthn/passkeys";
import { PasskeyStore } from "../webauthn/store";
import { currentSession, startSession } from "./browser-session";
import { csrfToken, validCsrf } from "./csrf";
import { Layout } from "./layout";
import { page, pageSecurityHeaders, render } from "./page";
import { passkeyScript } from "./passkeys-script";
import { safeReturnTo } from "./return-to";
import { useRoutes } from "./routes-context";

export function mountPasskeys(app: Hono<AppEnv>): void {
  for (const path of [
    PATHS.passkeys,
    `${PATHS.passkeys}/*`,
    `${PATHS.signIn}/*`,
    PATHS.passkeyAuthorizeStepUpOptions,
  ]) {
    app.use(path, pageSecurityHeaders);
  }
  route(app, PATHS.passkeyScript, { GET: passkeyScript });
  route(app, PATHS.passkeys, { GET: page(listPasskeys) });
  route(app, PATHS.passkeyRegisterOptions, { POST: registerOptions });
  route(app, PATHS.passkeyRegister, { POST: register });
  route(app, PATHS.passkeyRemove, { POST: page(removePasskey) });
  route(app, PATHS.passkeySignInOptions, { POST: signInOptions });
  route(app, PATHS.passkeySignIn, { POST: signIn });
  route(app, PATHS.passkeyStepUpOptions, { POST: stepUpOptions });
  route(app, PATHS.passkeyAuthorizeStepUpOptions, { POST: authorizationStepUpOptions });
}

const store = (c: Context<AppEnv>) => new PasskeyStore(c.var.ctx.env.DB);

export function relyingParty(c: Context<AppEnv>): RelyingParty {
  const issuer = new URL(c.var.ctx.settings.issuer);
  return { id: issuer.hostname, origin: issuer.origin, name: "edge-op" };
}

const refused = (description: string, status: 400 | 401 | 403 = 400) =>
  new OAuthError("invalid_request", description, status);

/** JSON calls from the page: the CSRF token in X-CSRF-Token, and any Origin ours. */
async function checkedCsrf(c: Context<AppEnv>): Promise<void> {
  if (!(await validCsrf(c, c.req.header("x-csrf-token")))) {
    throw refused("the X-CSRF-Token header is missing or wrong", 403);
  }
}

async function signedIn(c: Context<AppEnv>): Promise<Session> {
  const session = await currentSession(c);
  if (!session) throw refused("sign in first", 401);
  return session;
}

async function jsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const text = await readBodyText(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  try {
    const value: unknown = JSON.parse(text);
    if (isRecord(value)) return value;
  } catch {
    // Answered below.
  }
  throw refused("the body must be a JSON object");
}

// Challenges -----------------------------------------------------------------------------------

const challengeKey = (c: Context<AppEnv>) => derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "webauthn challenge");
const secure = (c: Context<AppEnv>) => c.var.ctx.settings.issuer.startsWith("https:");

async function newChallenge(c: Context<AppEnv>, purpose: ChallengePurpose, binding: string): Promise<string> {
  const sealed = await sealChallenge(await challengeKey(c), purpose, binding);
  const { name, attributes } = challengeCookie(purpose, secure(c));
  setCookie(c, name, sealed.cookie, attributes);
  return sealed.challenge;
}

interface TakenChallenge {
  challenge: string;
  challengeId: string;
  expiresAt: number;
}

/**
 * The challenge made for `purpose` and `binding`, its cookie deleted whatever follows. Not yet
 * used up: the ceremony claims it (claimOnce) once it verified, before it takes effect.
 */
async function takeChallenge(c: Context<AppEnv>, purpose: ChallengePurpose, binding: string): Promise<TakenChallenge> {
  const { name, attributes } = challengeCookie(purpose, secure(c));
  const cookie = getCookie(c, name);
  deleteCookie(c, name, { path: attributes.path, secure: attributes.secure });
  const opened = await openChallenge(await challengeKey(c), cookie, purpose, binding);
  if (!opened.ok) throw refused(`passkey challenge: ${opened.error}`);
  return { challenge: opened.challenge, challengeId: opened.challengeId, expiresAt: opened.expiresAt };
}

/** W3C WebAuthn §13.4.3: the challenge completes one ceremony; a second use (a replay, a race) is refused. */
async function claimOnce(c: Context<AppEnv>, subject: string, taken: TakenChallenge): Promise<void> {
  if (!(await claimChallenge(c.var.ctx.env.REPLAY_GUARD, subject, taken))) {
    throw refused("this passkey challenge was used already; start again", 401);
  }
}

// Registration ---------------------------------------------------------------------------------

async function registerOptions(c: Context<AppEnv>) {
  const session = await signedIn(c);
  await checkedCsrf(c);
  const user = await c.var.ctx.stores.users.findBySubject(session.subject);
  const name = user?.username ?? session.subject;
  const options = await registrationOptions({
    rp: relyingParty(c),
    user: { handle: await store(c).userHandle(session.subject), name, displayName: user?.name ?? name },
    challenge: await newChallenge(c, "register", session.sid),
    existing: await store(c).list(session.subject),
  });
  return c.json(options, 200, { ...NO_STORE });
}

async function register(c: Context<AppEnv>) {
  const session = await signedIn(c);
  await checkedCsrf(c);
  const body = await jsonObject(c);
  const taken = await takeChallenge(c, "register", session.sid);
  let credential: PasskeyCredential;
  try {
    credential = await verifyRegistration(body.response, {
      rp: relyingParty(c),
      expectedChallenge: taken.challenge,
      user: { handle: await store(c).userHandle(session.subject), subject: session.subject },
      label: typeof body.label === "string" ? body.label : undefined,
    });
  } catch (error) {
    if (error instanceof PasskeyError) throw refused(error.message);
    throw error;
  }
  await claimOnce(c, session.subject, taken);
  if (!(await store(c).insert(credential))) throw refused("this passkey is registered already");
  return c.json({ id: credential.id, label: credential.label }, 201, { ...NO_STORE });
}

/** The pages that list passkeys; a removal goes back to the one it came from (`back`), else /passkeys. */
const LISTING_PAGES = ["passkeys", "account"] as const;
type ListingPage = (typeof LISTING_PAGES)[number];

async function removePasskey(c: Context<AppEnv>) {
  const session = await currentSession(c);
  const form = await readForm(c.req.raw, c.var.ctx.settings.maxRequestBodyBytes);
  if (!session || !(await validCsrf(c, form.get("csrf")))) throw refused("sign in and try again", 403);
  await store(c).remove(session.subject, c.req.param("credentialId") ?? "");
  const back = LISTING_PAGES.find((name) => name === form.get("back")) ?? "passkeys";
  return c.redirect(c.var.ctx.routes.path(back), 303);
}

/** The signed-in user's passkeys, for a page that lists them (PasskeyList). */
export function passkeysOf(c: Context<AppEnv>, subject: string): Promise<PasskeyCredential[]> {
  return store(c).list(subject);
}

async function listPasskeys(c: Context<AppEnv>) {
  const session = await currentSession(c);
  if (!session) {
    const signIn = c.var.ctx.routes.path("signIn");
    return c.redirect(`${signIn}?return_to=${encodeURIComponent(c.var.ctx.routes.path("passkeys"))}`, 303);
  }
  const user = await c.var.ctx.stores.users.findBySubject(session.subject);
  const passkeys = await store(c).list(session.subject);
  return render(
    c,
    <PasskeysPage passkeys={passkeys} csrf={await csrfToken(c)} signedInAs={user?.name ?? user?.username ?? "you"} />,
  );
}

function PasskeysPage(props: { passkeys: PasskeyCredential[]; csrf: string; signedInAs: string }) {
  const routes = useRoutes();
  return (
    <Layout title="Your passkeys" signedInAs={props.signedInAs} csrf={props.csrf}>
      <h1>Your passkeys</h1>
      <PasskeyList passkeys={props.passkeys} csrf={props.csrf} back="passkeys" />
      <p>
        <a href={routes.path("cibaRequests")}>Your requests</a>
      </p>
    </Layout>
  );
}

/**
 * The user's passkeys, each with a Remove form, and "Add a passkey" (shown by the script where
 * WebAuthn works): the /passkeys page and the account page both show this. `back` is the page
 * a removal returns to.
 */
export function PasskeyList(props: { passkeys: PasskeyCredential[]; csrf: string; back: ListingPage }) {
  const routes = useRoutes();
  return (
    <section id="passkeys">
      <p class="muted">
        A passkey signs you in without a password, and confirms approvals that ask for it (phishing-resistant).
      </p>
      {props.passkeys.length === 0 ? <p role="status">You have no passkeys yet.</p> : null}
      {props.passkeys.map((p) => (
        <form class="card" method="post" action={routes.path("passkeyRemove", { credentialId: p.id })}>
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="back" value={props.back} />
          <strong>{p.label}</strong>{" "}
          <span class="muted">
            {p.multiDevice ? "synced" : "this device only"} · added{" "}
            {new Date(p.createdAt * 1000).toISOString().slice(0, 10)}
          </span>
          <div class="actions">
            <button type="submit" class="danger">
              Remove
            </button>
          </div>
        </form>
      ))}
      <div class="actions">
        <button type="button" class="primary" id="passkey-add" hidden>
          Add a passkey
        </button>
      </div>
      <p id="passkey-status" class="muted" role="status" />
      <PasskeyScript csrf={props.csrf} />
    </section>
  );
}

/** The page script and the URLs and token it needs (from the route table). */
export function PasskeyScript(props: { csrf: string; stepUp?: string; returnTo?: string; approveField?: string }) {
  const routes = useRoutes();
  return (
    <div
      id="passkey-config"
      hidden
      data-csrf={props.csrf}
      data-register-options={routes.path("passkeyRegisterOptions")}
      data-register={routes.path("passkeyRegister")}
      data-sign-in-options={routes.path("passkeySignInOptions")}
      data-sign-in={routes.path("passkeySignIn")}
      data-step-up-options={props.stepUp}
      data-return-to={props.returnTo}
      data-approve-field={props.approveField}
    >
      {/* defer: it runs once the whole page, buttons included, is parsed. */}
      <script src={routes.path("passkeyScript")} defer />
    </div>
  );
}

// Sign-in without a username -------------------------------------------------------------------

async function signInOptions(c: Context<AppEnv>) {
  await checkedCsrf(c);
  // No session yet: the challenge is bound to this browser's CSRF token.
  const challenge = await newChallenge(c, "sign-in", c.req.header("x-csrf-token") ?? "");
  return c.json(await authenticationOptions(relyingParty(c), challenge), 200, { ...NO_STORE });
}

async function signIn(c: Context<AppEnv>) {
  await checkedCsrf(c);
  const body = await jsonObject(c);
  const taken = await takeChallenge(c, "sign-in", c.req.header("x-csrf-token") ?? "");
  const verified = await verifiedAssertion(c, body.response, taken, { requireUserHandle: true });
  await startSession(c, verified.subject, [...verified.amr]);
  const returnTo = safeReturnTo(
    typeof body.return_to === "string" ? body.return_to : undefined,
    c.var.ctx.settings.issuer,
    c.var.ctx.routes,
  );
  return c.json({ redirect: returnTo }, 200, { ...NO_STORE });
}

/**
 * Verifies an assertion against the stored credential it names (and, for a step-up, that it is
 * the signed-in user's), claims its challenge in the credential owner's ReplayGuard object (so
 * of several uses of one challenge exactly one gets past here), then stores the new counter:
 * only if the row did not change meanwhile.
 */
async function verifiedAssertion(
  c: Context<AppEnv>,
  response: unknown,
  taken: TakenChallenge,
  options: { requireUserHandle: boolean; subject?: string },
): Promise<{ subject: string; amr: readonly string[] }> {
  const id = assertedCredentialId(response);
  const credential = id ? await store(c).find(id) : undefined;
  // Unknown and another user's passkey get the same answer.
  if (!credential || (options.subject !== undefined && credential.subject !== options.subject)) {
    throw refused("this passkey is not registered for this account", 401);
  }
  try {
    const verified = await verifyAuthentication(response, {
      rp: relyingParty(c),
      expectedChallenge: taken.challenge,
      credential,
      requireUserHandle: options.requireUserHandle,
    });
    await claimOnce(c, credential.subject, taken);
    if (!(await store(c).replace(credential, verified.credential))) throw refused("passkey used concurrently", 401);
    return { subject: verified.subject, amr: verified.amr };
  } catch (error) {
    if (error instanceof PasskeyError) throw refused(error.message, 401);
    throw error;
  }
}

// Step-up at approval --------------------------------------------------------------------------

/** The binding of a step-up challenge: this request, this session. */
export const stepUpBinding = (internalId: string, session: Session) => `${internalId}\u0000${session.sid}`;

/**
 * The binding of a step-up challenge at /authorize: this authorization request (its query, as
 * the consent form posts it back) in this session. A challenge made for one request does not
 * approve another, nor the same one in another browser.
 */
export const authorizationStepUpBinding = (query: string, session: Session) =>
  `authorize\u0000${query}\u0000${session.sid}`;

async function stepUpOptions(c: Context<AppEnv>) {
  const session = await signedIn(c);
  await checkedCsrf(c);
  const internalId = c.req.param("internalId") ?? "";
  const request = await c.var.ctx.stores.backchannelRequests.getByInternalId(internalId);
  if (!request || request.subject !== session.subject) throw new OAuthError("not_found", "no such request", 404);
  return stepUpOptionsFor(c, session, stepUpBinding(internalId, session));
}

/**
 * For the consent page: the query is the authorization request's. It is not validated here: the
 * challenge only completes a POST to /authorize with this very query, which /authorize validates.
 */
async function authorizationStepUpOptions(c: Context<AppEnv>) {
  const session = await signedIn(c);
  await checkedCsrf(c);
  return stepUpOptionsFor(c, session, authorizationStepUpBinding(new URL(c.req.url).search, session));
}

/** Step-up options for the signed-in user's passkeys, the challenge bound to `binding` (also the console's, ./admin/step-up.tsx). */
export async function stepUpOptionsFor(c: Context<AppEnv>, session: Session, binding: string) {
  const passkeys = await store(c).list(session.subject);
  if (passkeys.length === 0) throw refused("add a passkey first (on /passkeys)", 403);
  const challenge = await newChallenge(c, "step-up", binding);
  return c.json(await authenticationOptions(relyingParty(c), challenge, passkeys), 200, { ...NO_STORE });
}

/** Whether the user has a passkey to step up with (the consent page says so when not). */
export async function hasPasskeys(c: Context<AppEnv>, subject: string): Promise<boolean> {
  return (await store(c).list(subject)).length > 0;
}

/**
 * The approve form's step-up: the amr of a passkey assertion made for `binding` (stepUpBinding,
 * authorizationStepUpBinding) by the session's user, or a refusal (an OAuthError, 401 or 403).
 */
export async function stepUpAmr(
  c: Context<AppEnv>,
  binding: string,
  session: Session,
  assertion: string | undefined,
): Promise<readonly string[]> {
  let response: unknown;
  try {
    response = JSON.parse(assertion ?? "");
  } catch {
    throw refused("this request needs a passkey: use Approve with passkey", 403);
  }
  const taken = await takeChallenge(c, "step-up", binding);
  const verified = await verifiedAssertion(c, response, taken, {
    requireUserHandle: false,
    subject: session.subject,
  });
  return verified.amr;
}
