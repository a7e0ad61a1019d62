/**
 * RFC 8705 §2: mutual-TLS client authentication. tls_client_auth needs a certificate that
 * Cloudflare verified against the zone's CA and that carries the registered subject DN or
 * subjectAltName; self_signed_tls_client_auth needs a certificate whose public key is one of
 * the client's registered keys (no CA: the registration is the trust). Returns the
 * certificate's x5t#S256, to which the client's tokens are then bound.
 */
import type { Client, PublicJwk } from "../clients/metadata";
import type { RequestContext } from "../context";
import { InvalidClient } from "../errors";
import { keyIsRegistered, matchesRegisteredIdentity } from "./certificate-match";
import { presentedCertificate } from "./client-certificate";

export async function verifyClientCertificate(ctx: RequestContext, client: Client): Promise<string> {
  const presented = await presentedCertificate(ctx.request, ctx.settings, ctx.env);
  if (!presented) throw new InvalidClient("a TLS client certificate is required for this client");
  const { certificate } = presented;
  if (client.token_endpoint_auth_method === "tls_client_auth") {
    if (!presented.verified) throw new InvalidClient("the client certificate is not from a trusted CA");
    if (!matchesRegisteredIdentity(certificate, client)) {
      throw new InvalidClient("the client certificate does not carry this client's registered identity");
    }
  } else if (!(await keyIsRegistered(certificate, await registeredKeys(ctx, client)))) {
    throw new InvalidClient("the client certificate's key is not one of this client's registered keys");
  }
  return certificate.x5tS256;
}

async function registeredKeys(ctx: RequestContext, client: Client): Promise<PublicJwk[]> {
  if (client.jwks) return client.jwks.keys;
  if (client.jwks_uri) return ctx.jwks.keys(client.jwks_uri, ctx.settings);
  return [];
}
