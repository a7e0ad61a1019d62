/**
 * One-time identifiers of the JWTs a client sends (client assertions, signed backchannel
 * requests, request objects pushed to /par), claimed in the client's ReplayGuard object
 * (./replay-guard.ts) for as long as the JWT could still be accepted.
 */
import { acceptableUntil } from "../clients/jwt-time";
import type { RequestContext } from "../context";
import { sha256Hex } from "../crypto/hash";

/**
 * The kinds of JWT a client sends, each with its own jti space: the same jti in a client
 * assertion and in the request object it accompanies is not a replay. Client assertions keep
 * the empty prefix they always had, so jtis recorded before this split still count.
 */
const JTI_PREFIXES = {
  client_assertion: "",
  backchannel_request: "backchannel-request:",
  request_object: "request-object:",
} as const;

export type ClientJwtKind = keyof typeof JTI_PREFIXES;

/**
 * Seconds a jti is kept beyond the last moment its JWT can be accepted. The Worker that checked
 * `exp` and this object read different clocks (a Worker's clock also stands still while it
 * runs), so the two must not meet exactly at the edge.
 */
const CLOCK_MARGIN = 60;

/**
 * Claims the `jti` (or another one-time identifier) of a JWT `clientId` sent, for as long as a
 * JWT with this `exp` can be accepted (exp + JWT_CLOCK_TOLERANCE, plus a margin). False means it
 * was seen before: a replay, which the caller must refuse. Strongly consistent (one object per
 * client) and atomic.
 */
export async function claimClientJwtId(
  ctx: RequestContext,
  clientId: string,
  kind: ClientJwtKind,
  id: string,
  exp: number,
): Promise<boolean> {
  const stub = ctx.env.REPLAY_GUARD.get(ctx.env.REPLAY_GUARD.idFromName(`jti:${clientId}`));
  const hash = await sha256Hex(`${JTI_PREFIXES[kind]}${id}`);
  return stub.claim(hash, acceptableUntil(exp, ctx.settings) + CLOCK_MARGIN);
}
