/**
 * Does a presented certificate identify a client? RFC 8705 §2.1 (tls_client_auth: a CA-issued
 * certificate whose subject DN or one subjectAltName equals the registered one) and §2.2
 * (self_signed_tls_client_auth: the certificate's public key is one of the client's keys).
 */
import type { PublicJwk } from "../clients/metadata";
import type { ParsedCertificate } from "./der";

/** RFC 8705 §2.1.2: exactly one of these is registered by a tls_client_auth client. */
export interface TlsClientAuthIdentity {
  tls_client_auth_subject_dn?: string;
  tls_client_auth_san_dns?: string;
  tls_client_auth_san_uri?: string;
  tls_client_auth_san_ip?: string;
  tls_client_auth_san_email?: string;
}

export function matchesRegisteredIdentity(certificate: ParsedCertificate, identity: TlsClientAuthIdentity): boolean {
  const san = certificate.subjectAltNames;
  if (identity.tls_client_auth_subject_dn !== undefined) {
    return normaliseDn(certificate.subjectDn) === normaliseDn(identity.tls_client_auth_subject_dn);
  }
  if (identity.tls_client_auth_san_dns !== undefined) {
    return san.dns.some((d) => d.toLowerCase() === identity.tls_client_auth_san_dns?.toLowerCase());
  }
  if (identity.tls_client_auth_san_uri !== undefined) return san.uri.includes(identity.tls_client_auth_san_uri);
  if (identity.tls_client_auth_san_ip !== undefined) return san.ip.includes(identity.tls_client_auth_san_ip);
  if (identity.tls_client_auth_san_email !== undefined) {
    return san.email.some((e) => e.toLowerCase() === identity.tls_client_auth_san_email?.toLowerCase());
  }
  return false;
}

/** Attribute names are case-insensitive and spaces around separators are not significant. */
function normaliseDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => rdn.trim().replace(/^([A-Za-z0-9.]+)\s*=\s*/, (_m, type: string) => `${type.toUpperCase()}=`))
    .join(",");
}

const KEY_MEMBERS: Record<string, string[]> = { EC: ["crv", "x", "y"], RSA: ["n", "e"], OKP: ["crv", "x"] };

/** §2.2: the certificate's public key equals one of the registered JWKs (compared as JWKs). */
export async function keyIsRegistered(certificate: ParsedCertificate, jwks: readonly PublicJwk[]): Promise<boolean> {
  const presented = await spkiToJwk(certificate.spki);
  if (!presented) return false;
  return jwks.some((key) => {
    const members = KEY_MEMBERS[key.kty];
    return members !== undefined && key.kty === presented.kty && members.every((m) => key[m] === presented[m]);
  });
}

/** Imports the SubjectPublicKeyInfo as each algorithm it might be, and exports it as a JWK. */
async function spkiToJwk(spki: Uint8Array): Promise<Record<string, unknown> | undefined> {
  const candidates: Parameters<typeof crypto.subtle.importKey>[2][] = [
    { name: "ECDSA", namedCurve: "P-256" },
    { name: "ECDSA", namedCurve: "P-384" },
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    { name: "Ed25519" },
  ];
  for (const algorithm of candidates) {
    try {
      const key = await crypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]);
      return (await crypto.subtle.exportKey("jwk", key)) as unknown as Record<string, unknown>;
    } catch {
      // not this algorithm
    }
  }
  return undefined;
}
