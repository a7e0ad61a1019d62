/**
 * Client authentication at the token endpoint and every other back-channel endpoint
 * (RFC 6749 §2.3, OpenID Connect Core §9, RFC 7523, RFC 8705). Pipeline:
 *   presentedCredentials → findClient → checkRegisteredMethod → verify (secret, assertion or
 *   TLS client certificate)
 * A client must use exactly one method, and only the one it registered.
 */
import { decodeJwt } from "jose";
import type { RequestContext } from "../context";
import { digestsEqual, sha256Hex } from "../crypto/hash";
import { InvalidClient, InvalidRequest } from "../errors";
import { verifyClientCertificate } from "../mtls/verify-client-certificate";
import type { FormParams } from "../params/form-params";
import { verifyClientAssertion } from "./assertion";
import type { AuthMethod, Client } from "./metadata";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

type Credentials =
  | { kind: "basic"; clientId: string; secret: string }
  | { kind: "post"; clientId: string; secret: string }
  | { kind: "assertion"; clientId: string; assertion: string }
  /** RFC 8705 §2: only client_id in the request; the proof is the TLS client certificate. */
  | { kind: "certificate"; clientId: string };

/** A client that proved who it is; mTLS clients also carry their certificate's thumbprint. */
export type AuthenticatedClient = Client & {
  /** RFC 8705 §3.1 x5t#S256 of the certificate it authenticated with: tokens are bound to it. */
  certificateThumbprint?: string;
  /**
   * RFC 9449 §5: the JWK thumbprint of the DPoP proof the token request came with (set by the
   * token endpoint after checking the proof): tokens are bound to it (`cnf.jkt`).
   */
  dpopJkt?: string;
};

/**
 * Authenticates the calling client. `endpointUrl` is the URL being called: a client assertion
 * may name it, the token endpoint or the issuer as its audience (CIBA §7.1, checklist C5).
 */
export async function authenticateClient(
  ctx: RequestContext,
  form: FormParams,
  endpointUrl: string,
): Promise<AuthenticatedClient> {
  const credentials = presentedCredentials(ctx.request, form);
  const client = await findClient(ctx, credentials);
  checkRegisteredMethod(client, credentials);
  switch (credentials.kind) {
    case "assertion":
      await verifyClientAssertion(ctx, client, credentials.assertion, endpointUrl);
      return client;
    case "certificate":
      return { ...client, certificateThumbprint: await verifyClientCertificate(ctx, client) };
    default:
      await checkSecret(client, credentials);
      return client;
  }
}

function presentedCredentials(request: Request, form: FormParams): Credentials {
  const basic = parseBasic(request.headers.get("authorization"));
  const secret = form.get("client_secret");
  const assertion = form.get("client_assertion");
  const assertionType = form.get("client_assertion_type");
  const formClientId = form.get("client_id");

  const methods = [basic, secret, assertion].filter((m) => m !== undefined).length;
  if (methods > 1) throw new InvalidRequest("use exactly one client authentication method");

  if (basic) {
    if (formClientId !== undefined && formClientId !== basic.clientId) {
      throw new InvalidRequest("client_id does not match the authenticated client");
    }
    return { kind: "basic", ...basic };
  }
  if (assertion !== undefined) {
    if (assertionType !== JWT_BEARER_ASSERTION) {
      throw new InvalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    }
    const clientId = assertionSubject(assertion);
    if (formClientId !== undefined && formClientId !== clientId) {
      throw new InvalidClient("client_id does not match the client assertion");
    }
    return { kind: "assertion", clientId, assertion };
  }
  if (secret !== undefined) {
    if (formClientId === undefined) throw new InvalidClient("client_secret was sent without client_id");
    return { kind: "post", clientId: formClientId, secret };
  }
  if (formClientId !== undefined) return { kind: "certificate", clientId: formClientId };
  throw new InvalidClient("client authentication is required");
}

/** RFC 6749 §2.3.1: Basic credentials are the form-urlencoded client_id and secret. */
function parseBasic(header: string | null): { clientId: string; secret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  let decoded: string;
  try {
    decoded = atob(header.slice(6).trim());
  } catch {
    throw new InvalidClient("malformed Basic credentials", { triedBasic: true });
  }
  const colon = decoded.indexOf(":");
  if (colon < 1) throw new InvalidClient("malformed Basic credentials", { triedBasic: true });
  try {
    const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
    return { clientId, secret };
  } catch {
    throw new InvalidClient("malformed Basic credentials", { triedBasic: true });
  }
}

function assertionSubject(assertion: string): string {
  let sub: unknown;
  try {
    sub = decodeJwt(assertion).sub;
  } catch {
    throw new InvalidClient("client_assertion is not a JWT");
  }
  if (typeof sub !== "string" || sub === "") throw new InvalidClient("client_assertion has no sub");
  return sub;
}

async function findClient(ctx: RequestContext, credentials: Credentials): Promise<Client> {
  // Client ids are short; anything longer cannot be registered and is not worth a query.
  const client = credentials.clientId.length <= 128 ? await ctx.stores.clients.find(credentials.clientId) : undefined;
  if (!client) throw new InvalidClient("unknown client", { triedBasic: credentials.kind === "basic" });
  return client;
}

const METHOD_FOR_KIND: Record<Credentials["kind"], readonly AuthMethod[]> = {
  basic: ["client_secret_basic"],
  post: ["client_secret_post"],
  assertion: ["client_secret_jwt", "private_key_jwt"],
  certificate: ["tls_client_auth", "self_signed_tls_client_auth"],
};

function checkRegisteredMethod(client: Client, credentials: Credentials): void {
  if (!METHOD_FOR_KIND[credentials.kind].includes(client.token_endpoint_auth_method)) {
    const message =
      credentials.kind === "certificate"
        ? "client authentication is required"
        : `client is registered for ${client.token_endpoint_auth_method}`;
    throw new InvalidClient(message, {
      triedBasic: credentials.kind === "basic",
    });
  }
}

async function checkSecret(client: Client, credentials: { kind: "basic" | "post"; secret: string }): Promise<void> {
  const ok =
    client.client_secret_hash !== undefined &&
    digestsEqual(await sha256Hex(credentials.secret), client.client_secret_hash);
  if (!ok) throw new InvalidClient("invalid client secret", { triedBasic: credentials.kind === "basic" });
}
