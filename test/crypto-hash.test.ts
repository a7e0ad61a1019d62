/**
 * src/crypto/hash.ts's comparisons. `digestsEqual` compares a digest just computed with a stored
 * one without hashing both again (client secrets, user codes, passwords); it must still say no
 * to every string that differs, whatever the position or the length.
 */
import { describe, expect, it } from "vitest";
import { digestsEqual, sha256Hex, timingSafeEqual } from "../src/crypto/hash";

describe("digestsEqual: a computed digest against a stored one", () => {
  it("says yes only for the same digest", async () => {
    const stored = await sha256Hex("client-secret-0123456789");
    expect(digestsEqual(await sha256Hex("client-secret-0123456789"), stored)).toBe(true);
    expect(digestsEqual(await sha256Hex("client-secret-0123456780"), stored)).toBe(false);
  });

  it("says no when any one character differs, first, middle or last", async () => {
    const stored = await sha256Hex("x");
    for (const at of [0, 31, 63]) {
      const flipped = stored.slice(0, at) + (stored[at] === "0" ? "1" : "0") + stored.slice(at + 1);
      expect(digestsEqual(flipped, stored)).toBe(false);
    }
  });

  it("says no to a prefix, an extension or an empty string", async () => {
    const stored = await sha256Hex("x");
    expect(digestsEqual(stored.slice(0, 63), stored)).toBe(false);
    expect(digestsEqual(`${stored}0`, stored)).toBe(false);
    expect(digestsEqual("", stored)).toBe(false);
  });

  it("agrees with timingSafeEqual on every case above", async () => {
    const stored = await sha256Hex("x");
    for (const candidate of [stored, stored.slice(1), `${stored}0`, "", await sha256Hex("y")]) {
      expect(digestsEqual(candidate, stored)).toBe(await timingSafeEqual(candidate, stored));
    }
  });
});
