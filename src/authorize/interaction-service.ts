/**
 * AuthorizationInteractionService: what an integrator's own sign-in and consent pages use to
 * answer an authorization request, when the built-in pages are off (createProvider's
 * `pages: false`), as Duende's sample pages use its interaction service.
 *
 * The contract: /authorize checks the request, then sends the browser to the provider's
 * `interactionUrl` with `return_to=<the authorization request's path and query>`. The
 * integrator's page reads it with `getAuthorizationRequest(returnTo)` (to show who asks for
 * what), signs the user in its own way, asks for consent, then calls
 * `completeAuthorizationRequest(returnTo, answer)` and sends the browser to the `redirectTo` it
 * gets: the client's redirect URI with a code, or with an error. `return_to` comes back from the
 * browser, so it is untrusted: every call checks the request again from scratch (client,
 * redirect URI, pushed request, every parameter), exactly as /authorize does, and a pushed
 * request is still answered once only.
 */
import type { RequestContext } from "../context";
import { OAuthError } from "../errors";
import {
  type AuthenticatedUser,
  checkPushedIfRequired,
  type Resolved,
  resolveAuthorization,
  respondWithCode,
  respondWithError,
  ShownError,
} from "./authorization";
import { type AuthorizationRequest, checkAuthorizationParameters } from "./authorization-request";

/** Why a request cannot be answered as asked. */
export interface AuthorizationRefusal {
  ok: false;
  error: string;
  description: string;
  /**
   * true: the error belongs to the client (the redirect URI is known to be its):
   * `completeAuthorizationRequest` sends it there, whatever the answer. Otherwise show it to
   * the user and never redirect (RFC 6749 §4.1.2.1).
   */
  toClient?: boolean;
}

/** What an authorization request asks for, to show on a consent page. */
export interface AuthorizationRequestView {
  ok: true;
  clientId: string;
  clientName: string;
  scopes: string[];
  /** OIDC Core §3.1.2.1: `login` asks for a fresh sign-in, `consent` for a consent page, `none` for neither. */
  prompt: string[];
  /** Seconds: the user must have signed in at most this long ago. */
  maxAge?: number;
  loginHint?: string;
  acrValues: string[];
}

/** The user's answer: approved, by this user; or an error for the client (RFC 6749 §4.1.2.1). */
export type AuthorizationAnswer =
  | { approve: AuthenticatedUser }
  | { error: "access_denied" | "login_required" | "consent_required" | "interaction_required"; description?: string };

export type AuthorizationCompletion = { ok: true; redirectTo: string } | AuthorizationRefusal;

export class AuthorizationInteractionService {
  constructor(private readonly ctx: RequestContext) {}

  /** The request behind `returnTo`, checked as /authorize checks it, or why it cannot be answered. */
  async getAuthorizationRequest(returnTo: string): Promise<AuthorizationRequestView | AuthorizationRefusal> {
    const checked = await this.check(returnTo);
    if (!checked.ok) return checked;
    const { resolved, request } = checked;
    if (request instanceof OAuthError) return { ...refusal(request), toClient: true };
    return {
      ok: true,
      clientId: resolved.client.client_id,
      clientName: resolved.client.client_name || resolved.client.client_id,
      scopes: request.scopes,
      prompt: request.prompt,
      maxAge: request.maxAge,
      loginHint: request.loginHint,
      acrValues: request.acrValues,
    };
  }

  /**
   * Answers the request behind `returnTo`: a code for the approving user, or the error. The
   * user's sign-in must meet `max_age` (else login_required goes to the client). Returns where
   * to send the browser, or (for a request that cannot be answered, e.g. its pushed request was
   * already used) what to show instead.
   */
  async completeAuthorizationRequest(returnTo: string, answer: AuthorizationAnswer): Promise<AuthorizationCompletion> {
    const checked = await this.check(returnTo);
    if (!checked.ok) return checked;
    const { resolved, request } = checked;
    try {
      if (request instanceof OAuthError) throw request;
      if ("error" in answer) throw new OAuthError(answer.error, answer.description ?? "the user did not approve");
      const { approve: user } = answer;
      const now = Math.floor(Date.now() / 1000);
      if (request.maxAge !== undefined && now - user.authTime > request.maxAge) {
        throw new OAuthError("login_required", "the user's sign-in is older than max_age");
      }
      return { ok: true, redirectTo: await respondWithCode(this.ctx, resolved, request, user) };
    } catch (error) {
      if (error instanceof ShownError) return refusal(error);
      if (!(error instanceof OAuthError)) throw error;
      try {
        return { ok: true, redirectTo: await respondWithError(this.ctx, resolved, error) };
      } catch (spent) {
        if (spent instanceof ShownError) return refusal(spent);
        throw spent;
      }
    }
  }

  /**
   * `returnTo` must be this provider's authorization endpoint; then the request is resolved
   * (errors to show) and checked (errors for the client, returned rather than thrown).
   */
  private async check(
    returnTo: string,
  ): Promise<{ ok: true; resolved: Resolved; request: AuthorizationRequest | OAuthError } | AuthorizationRefusal> {
    const url = URL.parse(returnTo, this.ctx.settings.issuer);
    const issuer = new URL(this.ctx.settings.issuer);
    if (!url || url.origin !== issuer.origin || url.pathname !== this.ctx.routes.path("authorization")) {
      return { ok: false, error: "invalid_request", description: "return_to is not an authorization request here" };
    }
    let resolved: Resolved;
    try {
      resolved = await resolveAuthorization(this.ctx, url.search.slice(1));
    } catch (error) {
      if (error instanceof OAuthError) return refusal(error);
      throw error;
    }
    try {
      checkPushedIfRequired(this.ctx.settings, resolved);
      return {
        ok: true,
        resolved,
        request: checkAuthorizationParameters(
          resolved.client,
          resolved.params,
          resolved.redirectUri,
          this.ctx.authorizationDetails,
        ),
      };
    } catch (error) {
      if (error instanceof OAuthError) return { ok: true, resolved, request: error };
      throw error;
    }
  }
}

function refusal(error: OAuthError): AuthorizationRefusal {
  return { ok: false, error: error.code, description: error.description };
}
