/**
 * The bank's BackchannelAuthenticationUserNotificationService: tells a customer that a client
 * asks them to approve something. A real bank would hand the notice to its push gateway; this
 * one records it in KV (NOTIFICATIONS), where the bank's app (and the example's tests) read it.
 *
 * edge-op calls it from the request's Durable Object once the request is stored, not from
 * /bc-authorize: throwing RetryableNotificationError makes edge-op try again from the object's
 * alarm with backoff, any other error gives up on that notice at once (docs/integration.md).
 */
import {
  type BackchannelAuthenticationUserNotificationService,
  type BackchannelUserLoginRequest,
  RetryableNotificationError,
} from "edge-op";

/** What the bank's app shows the customer. */
export interface BankNotice {
  clientName: string;
  bindingMessage?: string;
  scopes: string[];
  approvalUrl: string;
  expiresAt: number;
}

export const noticeKey = (customerId: string, internalId: string) => `notice:${customerId}:${internalId}`;

export class KvNotificationService implements BackchannelAuthenticationUserNotificationService {
  constructor(private readonly notices: KVNamespace) {}

  async sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void> {
    const notice: BankNotice = {
      clientName: request.clientName,
      bindingMessage: request.bindingMessage,
      scopes: request.requestedScopes,
      approvalUrl: request.approvalUrl,
      expiresAt: request.expiresAt,
    };
    try {
      await this.notices.put(noticeKey(request.subject, request.internalId), JSON.stringify(notice), {
        // The notice is useless once the request has expired (KV's floor is 60 s).
        expiration: Math.max(request.expiresAt, Math.floor(Date.now() / 1000) + 60),
      });
    } catch (error) {
      // KV's limits (1 write per second per key, transient failures) are worth another try.
      throw new RetryableNotificationError(`could not record the notice: ${String(error)}`);
    }
  }
}
