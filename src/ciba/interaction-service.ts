/**
 * BackchannelAuthenticationInteractionService (the seed's interface of the same name): what the
 * user's side — the pages in src/ui and the authenticator-app API — uses to list, show and
 * answer backchannel requests. The "current user" is passed in explicitly: a Worker has no
 * ambient session. An integrator with its own pages gets one from `provider.interaction(env)`;
 * it works on the provider's own stores and settings.
 */
import type { BackchannelUserLoginRequest, RequestContext } from "../context";
import type { CompleteBackchannelLoginRequest, CompletionOutcome } from "./model";
import { loginRequestView } from "./notifications";

export interface CurrentUser {
  subject: string;
  sessionId?: string;
  /** When this session's user signed in (epoch seconds), and how. */
  authTime?: number;
  amr?: string[];
}

export type CompleteLoginRequestInput = Omit<CompleteBackchannelLoginRequest, "subject" | "sessionId"> & {
  subject?: string;
  sessionId?: string;
};

export class BackchannelAuthenticationInteractionService {
  constructor(private readonly ctx: Pick<RequestContext, "settings" | "stores">) {}

  private get store() {
    return this.ctx.stores.backchannelRequests;
  }

  async getPendingLoginRequestsForCurrentUser(user: CurrentUser): Promise<BackchannelUserLoginRequest[]> {
    const requests = await this.store.getLoginsForUser(user.subject);
    return requests.map((r) => loginRequestView(this.ctx.settings, r));
  }

  /** The request, whoever it is for: callers must compare `subject` with their user. */
  async getLoginRequestByInternalId(internalId: string): Promise<BackchannelUserLoginRequest | undefined> {
    const request = await this.store.getByInternalId(internalId);
    return request ? loginRequestView(this.ctx.settings, request) : undefined;
  }

  /**
   * Approves (some scopes) or denies (no scopes) a request. `subject` and `sessionId` default to
   * the current user's; the request must belong to that user, be pending and unexpired.
   */
  async completeLoginRequest(input: CompleteLoginRequestInput, currentUser?: CurrentUser): Promise<CompletionOutcome> {
    const subject = input.subject ?? currentUser?.subject;
    if (!subject) return { ok: false, reason: "wrong_user" };
    const outcome = await this.store.completeByInternalId({
      ...input,
      subject,
      sessionId: input.subject ? input.sessionId : (currentUser?.sessionId ?? input.sessionId),
      authTime: input.authTime ?? currentUser?.authTime,
      // The session's sign-in is not a step-up made for this approval: its `pop` (a passkey
      // sign-in, maybe hours ago) never meets phr here; only `input.amr`, set by the page that
      // verified a passkey assertion for this very approval, can (src/authn/acr.ts).
      amr: input.amr ?? currentUser?.amr?.filter((method) => method !== "pop"),
    });
    // The account page's recent answers are kept by the store itself, in the user's object
    // (issue 18: the answer replaces the pending entry; no D1 write).
    return outcome;
  }

  /** The client's display name, for pages that show a request. */
  async clientName(clientId: string): Promise<string> {
    return (await this.ctx.stores.clients.find(clientId))?.client_name || clientId;
  }
}
