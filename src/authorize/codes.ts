/** Issuing and redeeming authorization codes (256-bit handles; only their hash names the object). */
import { randomHandle, sha256Hex } from "../crypto/hash";
import type { Bindings } from "../env";
import { newRefreshFamilyId } from "../tokens/refresh-tokens";
import type { CodeRecord, Redemption } from "./code-object";

export async function issueCode(env: Bindings, record: CodeRecord): Promise<string> {
  const code = randomHandle(32);
  const created = await (await codeStub(env, code)).create(record);
  if (!created) throw new Error("authorization code collision");
  return code;
}

/**
 * Consumes the code for `clientId`. A successful redemption names the refresh-token family the
 * exchange may start (picked here, before the code is consumed, and recorded with it), so that
 * a reuse arriving before that family exists still revokes it.
 */
export async function redeemCode(
  env: Bindings,
  code: string,
  clientId: string,
  redirectUri: string,
  codeChallenge: string,
  dpopJkt?: string,
): Promise<Redemption> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return { ok: false, reason: "unknown" };
  return (await codeStub(env, code)).redeem(clientId, redirectUri, codeChallenge, newRefreshFamilyId(), dpopJkt);
}

async function codeStub(env: Bindings, code: string) {
  return env.AUTHORIZATION_CODES.get(env.AUTHORIZATION_CODES.idFromName(await sha256Hex(code)));
}
