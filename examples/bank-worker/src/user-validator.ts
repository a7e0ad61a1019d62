/**
 * The bank's BackchannelAuthenticationUserValidator: a backchannel request names a customer by
 * login_hint (customer number, e-mail or phone), which the bank's directory resolves over HTTP.
 * The contract (docs/integration.md): return the user's `sub`, or throw one of edge-op's CIBA
 * §13 errors, which the provider answers with; anything else is a 500 server_error.
 */
import {
  AccessDenied,
  type BackchannelAuthenticationUserValidator,
  InvalidRequest,
  UnknownUserId,
  type UserValidationContext,
} from "edge-op";
import type { DirectoryCustomer } from "./directory";

export class DirectoryUserValidator implements BackchannelAuthenticationUserValidator {
  constructor(private readonly directory: Fetcher) {}

  async validateRequest({ hint }: UserValidationContext): Promise<{ subject: string }> {
    // The bank's clients know their customers by number, e-mail or phone: no ID tokens, no JWT hints.
    if (hint.kind !== "login_hint") throw new InvalidRequest("this provider accepts login_hint only");
    const url = `https://directory.internal/customers?login_hint=${encodeURIComponent(hint.value)}`;
    const response = await this.directory.fetch(url, { headers: { accept: "application/json" } });
    if (response.status === 404) throw new UnknownUserId();
    if (!response.ok) throw new Error(`the customer directory answered ${response.status}`);
    const customer = parseCustomer(await response.json());
    // CIBA §13: access_denied, 403, "the OpenID Provider denied the request".
    if (customer.status !== "active") throw new AccessDenied("this customer cannot approve requests", 403);
    return { subject: customer.customerId };
  }
}

function parseCustomer(body: unknown): DirectoryCustomer {
  const { customerId, status } = (body ?? {}) as Record<string, unknown>;
  if (typeof customerId !== "string" || (status !== "active" && status !== "blocked")) {
    throw new Error("the customer directory answered with something that is not a customer");
  }
  return { customerId, status };
}
