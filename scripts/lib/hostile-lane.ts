/**
 * One lane of hostile traffic (scripts/fuzz.ts, scripts/soak.ts): a signed-in user whose browser,
 * pending backchannel request and authenticator token fill the placeholders of the generated
 * requests (scripts/lib/hostile.ts), so hostile input reaches the code behind the session, CSRF
 * and token checks. A lane sends one request at a time and keeps itself usable: signed in again
 * when a request signed it out, a new pending request when one was answered, a new token when one
 * was refused, and both renewed before they expire.
 */
import {
  type AnswerObserver,
  accessTokenFor,
  Browser,
  csrfOf,
  expectAnswer,
  type OAuthClient,
  send,
} from "./edge-client.ts";
import { waitForNotice } from "./flow-clients.ts";
import {
  answerProblem,
  fillPlaceholders,
  type HostileOptions,
  type HostileRequest,
  type PlaceholderValues,
} from "./hostile.ts";
import type { LoopbackReceiver } from "./loopback-receiver.ts";

/** The pending request and the token are renewed before they run out (CIBA 300 s, tokens 600 s). */
const RENEW_AFTER_MS = 240_000;

export interface Problem {
  problem: string;
  request: HostileRequest;
  status: number;
  body: string;
}

export interface LaneSetup {
  base: () => URL;
  receiver: LoopbackReceiver;
  /** Starts the lane's pending backchannel requests (a poll client). */
  kiosk: OAuthClient;
  /** The authenticator app (a code-flow client allowed ciba:approve). */
  authenticator: OAuthClient;
  redirectUri: string;
  username: string;
  password: string;
  observe?: AnswerObserver;
}

export class HostileLane {
  readonly browser: Browser;
  readonly renewals = { signIns: 0, requests: 0, tokens: 0 };
  private values: PlaceholderValues = { csrf: "", request: "", bearer: "" };
  private renewedAt = 0;
  private counter = 0;

  constructor(private readonly setup: LaneSetup) {
    this.browser = new Browser(setup.base, setup.observe);
  }

  /** Signed in (again if a request signed the browser out), with the page's current CSRF token. */
  private async ensureSession(): Promise<void> {
    let list = await this.browser.get("/ciba");
    if (list.status !== 200) {
      this.browser.cookies.clear();
      await this.browser.signIn(this.setup.username, this.setup.password);
      this.renewals.signIns += 1;
      list = expectAnswer(await this.browser.get("/ciba"), 200);
    }
    this.values.csrf = csrfOf(list.body);
  }

  /** A new pending backchannel request for this user; its internal id from the user's notice. */
  private async newRequest(): Promise<void> {
    const message = `Hostile ${this.setup.username} ${++this.counter}`;
    const since = Date.now();
    const params = { scope: "openid profile", login_hint: this.setup.username, binding_message: message };
    expectAnswer(await this.setup.kiosk.backchannel(params), 200);
    this.values.request = (await waitForNotice(this.setup.receiver, message, since)).internal_id;
    this.renewals.requests += 1;
  }

  private async newToken(): Promise<void> {
    const { authenticator, redirectUri } = this.setup;
    this.values.bearer = await accessTokenFor(this.browser, authenticator, redirectUri, "openid ciba:approve");
    // Valid credentials: the API lists the user's pending requests with them.
    const headers = { authorization: `Bearer ${this.values.bearer}` };
    expectAnswer(await send(this.setup.base, "/api/ciba/requests", { headers }, this.setup.observe), 200);
    this.renewals.tokens += 1;
  }

  async prepare(): Promise<void> {
    await this.ensureSession();
    await this.newRequest();
    await this.newToken();
    this.renewedAt = Date.now();
  }

  /** Sends one hostile request; returns the answer's status and its problem, if any. */
  async send(request: HostileRequest, options: HostileOptions): Promise<{ status: number; problem?: Problem }> {
    if (Date.now() - this.renewedAt > RENEW_AFTER_MS) await this.prepare();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name] = fillPlaceholders(value, this.values);
    const filled = {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : fillPlaceholders(request.body, this.values),
    };
    const path = fillPlaceholders(request.path, this.values);
    const answer = request.signedIn
      ? await this.browser.send(path, filled)
      : await send(this.setup.base, path, filled, this.setup.observe);
    const problem = answerProblem(
      request,
      {
        status: answer.status,
        contentType: answer.headers.get("content-type"),
        wwwAuthenticate: answer.headers.get("www-authenticate"),
        location: answer.headers.get("location"),
        body: answer.body,
      },
      options,
    );
    // Keep the lane usable: a sign-out or sign-in, a request answered, a token refused.
    if (request.signedIn && answer.headers.getSetCookie().length > 0) await this.ensureSession();
    const answered =
      answer.status === 200 && request.method === "POST" && /^\/(api\/)?ciba\/requests\//.test(request.path);
    if (answered) await this.newRequest();
    if (request.kind === "authenticator" && answer.status === 401 && headers.authorization) await this.newToken();
    if (!problem) return { status: answer.status };
    // Shown with its placeholders, not the lane's live CSRF token, session or access token.
    const shown = { ...request, path };
    return {
      status: answer.status,
      problem: { problem, request: shown, status: answer.status, body: answer.body.slice(0, 300) },
    };
  }
}
