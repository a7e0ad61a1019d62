/**
 * The CIBA grant at the token endpoint (CIBA §10.1, §11). The request's Durable Object decides
 * the outcome in one atomic step, in this order: invalid_grant (unknown, another client's,
 * already used) → slow_down → expired_token → access_denied → authorization_pending → tokens.
 */

import { issueOptionsOf, type PollOutcome, userGrantOf } from "../ciba/model";
import type { AuthenticatedClient } from "../clients/authenticate";
import { type Client, GRANT_TYPES } from "../clients/metadata";
import type { RequestContext } from "../context";
import {
  AccessDenied,
  AuthorizationPending,
  ExpiredToken,
  InvalidGrant,
  SlowDown,
  UnauthorizedClient,
} from "../errors";
import { logger } from "../log";
import type { FormParams } from "../params/form-params";
import { issueUserTokens } from "../tokens/issue";
import type { TokenResponse } from "./token-response";

export async function cibaGrant(
  ctx: RequestContext,
  client: AuthenticatedClient,
  form: FormParams,
): Promise<TokenResponse> {
  checkNotPushClient(client);
  const authReqId = form.require("auth_req_id");
  const outcome = await ctx.stores.backchannelRequests.pollByAuthenticationRequestId(authReqId, client.client_id);
  const request = approvedOrThrow(outcome);
  logger.info("ciba_tokens_issued", { client_id: client.client_id, internal_id: request.internalId });
  return issueUserTokens(ctx, client, userGrantOf(request), issueOptionsOf(request));
}

/** CIBA §10: push-mode clients receive their tokens at their endpoint and may not poll (C23). */
function checkNotPushClient(client: Client): void {
  if (client.backchannel_token_delivery_mode === "push") {
    throw new UnauthorizedClient(`push-mode clients may not use the ${GRANT_TYPES.ciba} grant`);
  }
}

function approvedOrThrow(outcome: PollOutcome) {
  switch (outcome.kind) {
    case "invalid_grant":
      throw new InvalidGrant(outcome.reason);
    case "slow_down":
      throw new SlowDown(outcome.interval);
    case "expired_token":
      throw new ExpiredToken();
    case "access_denied":
      throw new AccessDenied("the user denied the request");
    case "authorization_pending":
      throw new AuthorizationPending();
    case "approved":
      return outcome.request;
  }
}
