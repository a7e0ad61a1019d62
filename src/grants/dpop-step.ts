/**
 * DPoP at the token endpoint (RFC 9449 §5), the step between client authentication and the
 * grant: the proof in the `DPoP` header is checked (§4.3, for POST at this provider's published
 * token endpoint URL), and its key's thumbprint goes with the client to the grant, which binds
 * the tokens to it (`cnf.jkt`, `token_type: DPoP`). Every grant goes through this one step.
 */
import type { AuthenticatedClient } from "../clients/authenticate";
import type { RequestContext } from "../context";
import { InvalidDpopProof } from "../dpop/errors";
import { publishedEndpointUrl } from "../dpop/htu";
import { dpopProofOf, verifyDpopProof } from "../dpop/proof";

export interface TokenRequestProof {
  client: AuthenticatedClient;
  /** RFC 9449 §8.2: a fresher nonce for the `DPoP-Nonce` header of the response. */
  nextNonce?: string;
}

export async function dpopProofStep(ctx: RequestContext, client: AuthenticatedClient): Promise<TokenRequestProof> {
  const policy = ctx.dpop.authorizationServer;
  const proof = dpopProofOf(ctx.request.headers, policy);
  if (proof === undefined) {
    checkProofNotRequired(client, policy.algorithms);
    return { client };
  }
  const verified = await verifyDpopProof(
    proof,
    {
      method: ctx.request.method,
      url: publishedEndpointUrl(ctx.settings.issuer, ctx.settings.mtlsEndpointOrigin, ctx.request.url),
    },
    policy,
  );
  const result: TokenRequestProof = { client: { ...client, dpopJkt: verified.jkt } };
  if (verified.nextNonce !== undefined) result.nextNonce = verified.nextNonce;
  return result;
}

/**
 * RFC 9449 §5.2: a client registered with `dpop_bound_access_tokens` always sends a proof, so
 * a token request without one is refused (it may be an attacker holding a stolen code), and
 * FAPI 2.0 §5.3.2.1 (5): a fapi2 client's tokens must be sender-constrained, by DPoP or mTLS.
 */
function checkProofNotRequired(client: AuthenticatedClient, algs: readonly string[]): void {
  if (client.dpop_bound_access_tokens) {
    throw new InvalidDpopProof(
      "this client registered dpop_bound_access_tokens: send a DPoP proof",
      "authorization_server",
      algs,
    );
  }
  if (client.profile === "fapi2" && client.certificateThumbprint === undefined) {
    throw new InvalidDpopProof(
      "FAPI 2.0 §5.3.2.1: tokens must be sender-constrained; send a DPoP proof or use mTLS",
      "authorization_server",
      algs,
    );
  }
}
