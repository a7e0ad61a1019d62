/**
 * RFC 8705 §3: a certificate-bound access token (`cnf: {"x5t#S256": …}`) is only good when
 * presented over a TLS connection with that same client certificate.
 */
import type { JWTPayload } from "jose";
import type { RequestContext } from "../context";
import { isRecord } from "../parse";
import { presentedCertificate } from "./client-certificate";

export async function certificateBindingHolds(ctx: RequestContext, payload: JWTPayload): Promise<boolean> {
  const bound = isRecord(payload.cnf) ? payload.cnf["x5t#S256"] : undefined;
  if (bound === undefined) return true;
  const presented = await presentedCertificate(ctx.request, ctx.settings, ctx.env);
  return presented !== undefined && presented.certificate.x5tS256 === bound;
}
