/**
 * The push message that tells a user about a new CIBA request (issue 16): what the service
 * worker needs to show a notification and open the request on tap, and no more. It travels
 * encrypted end to end (RFC 8291), but the device may show it on a locked screen, so it carries
 * no auth_req_id, no token and no user id; `request_id` is the internal id already in the
 * approval URL, and approving still needs the signed-in user (or a ciba:approve token).
 */
import { MAX_PUSH_PLAINTEXT } from "./ece";
import type { PushOptions } from "./send";

export interface CibaPushNotice {
  type: "ciba_request";
  request_id: string;
  client_name: string;
  binding_message: string | null;
  scopes: string[];
  /** RFC 9396: each authorization detail as the sentence the approval page shows ("Pay €42.00 to …"). */
  authorization_details_text: string[];
  /** Epoch seconds. */
  expires_at: number;
  approval_url: string;
}

export interface CibaNoticeInput {
  internalId: string;
  clientName: string;
  bindingMessage?: string;
  requestedScopes: readonly string[];
  authorizationDetailsText?: readonly string[];
  /** Epoch seconds. */
  expiresAt: number;
  approvalUrl: string;
}

/** A client name is shown in one line of a notification; a long one is cut, not refused. */
const MAX_CLIENT_NAME = 200;

/**
 * The notice and the push options that go with it, or undefined once the request has expired
 * (nothing to push). TTL is the request's remaining life, so a phone that comes online later
 * is not woken for a request it can no longer approve; Urgency high, because the user is waiting
 * at the client's device (RFC 8030 §5.3: "high" for time-sensitive messages). The topic makes a
 * retry of the same notice replace an undelivered earlier copy (RFC 8030 §5.4).
 */
export function cibaPushNotice(
  input: CibaNoticeInput,
  now = Math.floor(Date.now() / 1000),
): { notice: CibaPushNotice; options: Pick<PushOptions, "ttl" | "urgency" | "topic"> } | undefined {
  const ttl = input.expiresAt - now;
  if (ttl <= 0) return undefined;
  const notice: CibaPushNotice = {
    type: "ciba_request",
    request_id: input.internalId,
    client_name: input.clientName.slice(0, MAX_CLIENT_NAME),
    binding_message: input.bindingMessage ?? null,
    scopes: [...input.requestedScopes],
    authorization_details_text: [...(input.authorizationDetailsText ?? [])],
    expires_at: input.expiresAt,
    approval_url: input.approvalUrl,
  };
  // Scopes and the details' sentences are the unbounded parts; a notice that would not fit one
  // record drops the scopes, then the sentences (the approval page shows them all).
  const fits = () => new TextEncoder().encode(JSON.stringify(notice)).length <= MAX_PUSH_PLAINTEXT;
  if (!fits()) notice.scopes = [];
  if (!fits()) notice.authorization_details_text = [];
  // The internal id is 64 hex characters; its first 32 are a topic (RFC 8030 §5.4: ≤ 32 base64url).
  return { notice, options: { ttl, urgency: "high", topic: input.internalId.slice(0, 32) } };
}
