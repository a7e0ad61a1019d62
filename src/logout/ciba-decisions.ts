/**
 * The user's recent answers to backchannel requests, shown on the account page. Since issue 18
 * they are the answer entries of the user's own Durable Object (src/users/user-object.ts): the
 * request's pending entry becomes the answer in place when the user answers (one row, no D1
 * write on the CIBA hot path), kept 30 days (longer while its grant's refresh-token family may
 * live). Answers given before issue 18 were in D1's ciba_decisions, dropped by migration 0090.
 */
import { pendingListOf } from "../ciba/user-list";
import type { Bindings } from "../env";

export const DECISION_RETENTION = 30 * 24 * 3600;

export interface CibaDecision {
  internalId: string;
  clientId: string;
  clientName: string;
  decision: "approved" | "denied";
  scopes: string[];
  bindingMessage?: string;
  decidedAt: number;
}

export class CibaDecisionStore {
  constructor(private readonly env: Pick<Bindings, "USERS">) {}

  /** The user's most recent answers (newest first) within the retention period: one call to the user's object. */
  async recent(subject: string, limit = 20): Promise<CibaDecision[]> {
    const since = Math.floor(Date.now() / 1000) - DECISION_RETENTION;
    const answers = await (await pendingListOf(this.env, subject)).answers();
    return answers
      .filter(({ answer }) => answer.decidedAt >= since)
      .slice(0, limit)
      .map(({ request, answer }) => ({
        internalId: request.internalId,
        clientId: request.clientId,
        clientName: request.clientName,
        decision: answer.decision,
        scopes: answer.scopes,
        bindingMessage: request.bindingMessage ?? undefined,
        decidedAt: answer.decidedAt,
      }));
  }
}
