/**
 * scripts/lib/vapid.ts, run in Node as `npm start` and `npm run admin -- keys vapid` run it: the
 * pair it makes is one src/push/vapid.ts can sign with, and a half pair is never "valid".
 */
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import {
  formatVapidKeys,
  generateVapidVars,
  hasValidVapidPair,
  VAPID_PRIVATE_KEY,
  VAPID_PUBLIC_KEY,
} from "../../scripts/lib/vapid.ts";

describe("VAPID keys for .dev.vars and the admin tool", () => {
  it("a generated pair is a 65-octet uncompressed point and a 32-octet d that sign together", async () => {
    const vars = await generateVapidVars();
    const point = Buffer.from(vars[VAPID_PUBLIC_KEY], "base64url");
    expect(point).toHaveLength(65);
    expect(point[0]).toBe(4);
    expect(Buffer.from(vars[VAPID_PRIVATE_KEY], "base64url")).toHaveLength(32);
    expect(await hasValidVapidPair(vars)).toBe(true);
  });

  it("a half pair, or halves of two different pairs, is not a valid pair", async () => {
    const [one, two] = await Promise.all([generateVapidVars(), generateVapidVars()]);
    expect(await hasValidVapidPair({ [VAPID_PUBLIC_KEY]: one[VAPID_PUBLIC_KEY] })).toBe(false);
    expect(await hasValidVapidPair({ [VAPID_PRIVATE_KEY]: one[VAPID_PRIVATE_KEY] })).toBe(false);
    expect(
      await hasValidVapidPair({
        [VAPID_PUBLIC_KEY]: one[VAPID_PUBLIC_KEY],
        [VAPID_PRIVATE_KEY]: two[VAPID_PRIVATE_KEY],
      }),
    ).toBe(false);
    expect(await hasValidVapidPair({})).toBe(false);
  });

  it("printed as dotenv lines, the pair reads back unchanged; --json gives {publicKey, privateKey}", async () => {
    const vars = await generateVapidVars();
    const keys = { publicKey: vars[VAPID_PUBLIC_KEY], privateKey: vars[VAPID_PRIVATE_KEY] };
    expect(parseEnv(formatVapidKeys(keys))).toEqual(vars);
    expect(JSON.parse(formatVapidKeys(keys, "json"))).toEqual(keys);
  });
});
