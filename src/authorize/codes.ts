/** Issuing and redeeming authorization codes (256-bit handles; only their hash names the object). */
import { randomHandle, sha256Hex } from "../crypto/hash";
import type { Bindings } from "../env";
import type { CodeRecord, Redemption } from "./code-object";

export async function issueCode(env: Bindings, record: CodeRecord): Promise<string> {
  const code = randomHandle(32);
  const created = await (await codeStub(env, code)).create(record);
  if (!created) throw new Error("authorization code collision");
  return code;
}

export async function redeemCode(
  env: Bindings,
  code: string,
  clientId: string,
  redirectUri: string,
  codeChallenge: string,
): Promise<Redemption> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return { ok: false, reason: "unknown" };
  return (await codeStub(env, code)).redeem(clientId, redirectUri, codeChallenge);
}

export async function attachRefreshFamily(env: Bindings, code: string, familyId: string): Promise<void> {
  await (await codeStub(env, code)).attachRefreshFamily(familyId);
}

async function codeStub(env: Bindings, code: string) {
  return env.AUTHORIZATION_CODES.get(env.AUTHORIZATION_CODES.idFromName(await sha256Hex(code)));
}
