/** Requests that arrive with a client certificate, as Cloudflare's edge reports it in request.cf. */
import { env, exports } from "cloudflare:workers";
import { ISSUER } from "./http";

export interface TestCertificate {
  der: string;
  publicJwk: Record<string, unknown>;
}

export const certificates = JSON.parse(env.TEST_CERTIFICATES) as Record<
  "kiosk" | "other" | "selfSigned",
  TestCertificate
>;

export interface TlsClientAuthOptions {
  verified?: boolean;
  /** Replaces the leaf in RFC 9440 form, e.g. with garbage. */
  rfc9440?: string;
}

/** `request.cf.tlsClientAuth` for a presented certificate (PLATFORM-NOTES: the fields we read). */
export function tlsClientAuth(certificate: TestCertificate, options: TlsClientAuthOptions = {}) {
  return {
    certPresented: "1",
    certVerified: (options.verified ?? true) ? "SUCCESS" : "FAILED:self signed certificate",
    certRevoked: "0",
    certRFC9440: options.rfc9440 ?? `:${certificate.der}:`,
  };
}

export function callWithCertificate(
  path: string,
  init: RequestInit,
  certificate?: TestCertificate,
  options: TlsClientAuthOptions = {},
): Promise<Response> {
  const cf = certificate ? { tlsClientAuth: tlsClientAuth(certificate, options) } : undefined;
  return exports.default.fetch(new Request(`${ISSUER}${path}`, { ...init, cf } as RequestInit));
}

export function postFormWithCertificate(
  path: string,
  params: Record<string, string>,
  certificate?: TestCertificate,
  options: TlsClientAuthOptions = {},
): Promise<Response> {
  return callWithCertificate(
    path,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
    },
    certificate,
    options,
  );
}

/** RFC 8705 §3.1: base64url SHA-256 of the certificate's DER. */
export async function thumbprint(certificate: TestCertificate): Promise<string> {
  const der = Uint8Array.from(atob(certificate.der), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
