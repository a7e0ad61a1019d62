/**
 * Passkeys (W3C WebAuthn Level 3) inside workerd: src/webauthn/ over @simplewebauthn/server,
 * driven by a software authenticator (test/helpers/soft-authenticator.ts) that builds what a
 * browser would send. Registration and authentication verify; every spoiled field is refused.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { base64url } from "../src/crypto/encoding";
import { ACR_PHISHING_RESISTANT, PASSKEY_AMR, PHR_CLASS } from "../src/webauthn/amr";
import { challengeCookie, openChallenge, sealChallenge } from "../src/webauthn/challenge";
import { newUserHandle, type PasskeyCredential, parsePasskeyCredential } from "../src/webauthn/credential";
import {
  assertedCredentialId,
  authenticationOptions,
  PasskeyError,
  type RelyingParty,
  registrationOptions,
  verifyAuthentication,
  verifyRegistration,
} from "../src/webauthn/passkeys";
import { SoftAuthenticator, type Spoil } from "./helpers/soft-authenticator";

const rp: RelyingParty = { id: "op.example", name: "edge-op", origin: "https://op.example" };
const key = base64url(crypto.getRandomValues(new Uint8Array(32)));
const session = "session-1";

function fresh(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function registered(authenticator: SoftAuthenticator, handle = newUserHandle()) {
  const challenge = fresh();
  const options = await registrationOptions({
    rp,
    user: { handle, name: "alice", displayName: "Alice" },
    challenge,
    existing: [],
  });
  const response = await authenticator.register(options, rp.origin);
  return verifyRegistration(response, {
    rp,
    expectedChallenge: challenge,
    user: { handle, subject: "alice" },
    label: "Phone",
  });
}

describe("registration (§7.1)", () => {
  it("options ask for a discoverable credential with user verification, attestation none, ES256/EdDSA/RS256, our challenge and user handle", async () => {
    const handle = newUserHandle();
    const challenge = fresh();
    const options = await registrationOptions({
      rp,
      user: { handle, name: "alice", displayName: "Alice" },
      challenge,
      existing: [{ id: "AAAA", transports: ["usb"] }],
    });
    expect(options.challenge).toBe(challenge);
    expect(options.rp).toEqual({ id: "op.example", name: "edge-op" });
    expect(options.user).toMatchObject({ id: handle, name: "alice", displayName: "Alice" });
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: "required",
      requireResidentKey: true,
      userVerification: "required",
    });
    expect(options.attestation).toBe("none");
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
    expect(options.excludeCredentials).toEqual([{ id: "AAAA", type: "public-key", transports: ["usb"] }]);
  });

  it("a software authenticator's 'none' attestation verifies into the record to store", async () => {
    const authenticator = new SoftAuthenticator({ backupEligible: true });
    const handle = newUserHandle();
    const credential = await registered(authenticator, handle);
    expect(credential).toMatchObject({
      id: authenticator.id,
      counter: 0,
      transports: ["internal", "hybrid"],
      userHandle: handle,
      subject: "alice",
      multiDevice: true,
      backedUp: true,
      aaguid: "00000000-0000-0000-0000-000000000000",
      label: "Phone",
      lastUsedAt: null,
    });
    // A COSE_Key map (major type 5) holding the EC2 key.
    expect(credential.publicKey.length).toBeGreaterThan(80);
  });

  it("the stored record survives JSON storage: parsed back, field for field", async () => {
    const credential = await registered(new SoftAuthenticator());
    expect(parsePasskeyCredential(JSON.parse(JSON.stringify(credential)))).toEqual({ ok: true, value: credential });
  });

  const refusals: [string, Spoil][] = [
    ["another challenge (§7.1 step 8)", { challenge: "c2VudC1zb21ld2hlcmUtZWxzZQ" }],
    ["another origin (step 9)", { origin: "https://phish.example" }],
    ["type webauthn.get (step 7)", { type: "webauthn.get" }],
    ["another RP ID hash (step 13)", { rpId: "phish.example" }],
    ["no user presence (step 14)", { userPresent: false }],
    ["no user verification (step 15, required)", { userVerified: false }],
  ];
  for (const [what, spoil] of refusals) {
    it(`is refused with ${what}`, async () => {
      const handle = newUserHandle();
      const challenge = fresh();
      const options = await registrationOptions({
        rp,
        user: { handle, name: "alice", displayName: "Alice" },
        challenge,
        existing: [],
      });
      const response = await new SoftAuthenticator().register(options, rp.origin, spoil);
      await expect(
        verifyRegistration(response, { rp, expectedChallenge: challenge, user: { handle, subject: "alice" } }),
      ).rejects.toThrow(PasskeyError);
    });
  }

  it("garbage instead of a response is a PasskeyError, not a crash", async () => {
    for (const response of [null, "x", {}, { id: "AA", response: {} }, []]) {
      await expect(
        verifyRegistration(response, { rp, expectedChallenge: fresh(), user: { handle: "AA", subject: "alice" } }),
      ).rejects.toThrow(PasskeyError);
    }
  });
});

describe("authentication (§7.2)", () => {
  let authenticator: SoftAuthenticator;
  let credential: PasskeyCredential;

  beforeEach(async () => {
    authenticator = new SoftAuthenticator({ counting: true });
    credential = await registered(authenticator);
  });

  async function assertion(spoil: Spoil = {}, challenge = fresh()) {
    const options = await authenticationOptions(rp, challenge);
    return { challenge, response: await authenticator.authenticate(options, rp.origin, spoil) };
  }

  it("options for sign-in list no credentials (discoverable) and require user verification", async () => {
    const challenge = fresh();
    const options = await authenticationOptions(rp, challenge);
    expect(options).toMatchObject({ rpId: "op.example", challenge, userVerification: "required" });
    expect(options.allowCredentials ?? []).toEqual([]);
    const stepUp = await authenticationOptions(rp, challenge, [credential]);
    expect(stepUp.allowCredentials).toEqual([
      { id: credential.id, type: "public-key", transports: ["internal", "hybrid"] },
    ]);
  });

  it("a user-verified assertion names its user and yields amr pop, user, mfa; the counter and last use are updated", async () => {
    const { challenge, response } = await assertion();
    expect(assertedCredentialId(response)).toBe(credential.id);
    const verified = await verifyAuthentication(response, {
      rp,
      expectedChallenge: challenge,
      credential,
      requireUserHandle: true,
      now: 1_900_000_000,
    });
    expect(verified.subject).toBe("alice");
    expect(verified.amr).toEqual(["pop", "user", "mfa"]);
    expect(verified.credential.counter).toBe(1);
    expect(verified.credential.lastUsedAt).toBe(1_900_000_000);
  });

  it("a synced passkey whose counter stays 0 signs in again and again", async () => {
    const synced = new SoftAuthenticator({ counting: false, backupEligible: true });
    let stored = await registered(synced);
    for (let i = 0; i < 3; i++) {
      const challenge = fresh();
      const response = await synced.authenticate(await authenticationOptions(rp, challenge), rp.origin);
      stored = (
        await verifyAuthentication(response, {
          rp,
          expectedChallenge: challenge,
          credential: stored,
          requireUserHandle: true,
        })
      ).credential;
    }
    expect(stored.counter).toBe(0);
  });

  const refusals: [string, Spoil][] = [
    ["another challenge (step 12)", { challenge: "c2VudC1zb21ld2hlcmUtZWxzZQ" }],
    ["another origin (step 13): a phishing site's assertion", { origin: "https://op.example.phish.example" }],
    ["type webauthn.create (step 11)", { type: "webauthn.create" }],
    ["another RP ID hash (step 15)", { rpId: "phish.example" }],
    ["no user verification (step 17, required)", { userVerified: false }],
    ["a bad signature (step 21)", { badSignature: true }],
    ["another user's handle (step 6)", { userHandle: base64url(new Uint8Array(32)) }],
    ["no user handle at sign-in (step 6)", { userHandle: null }],
  ];
  for (const [what, spoil] of refusals) {
    it(`is refused with ${what}`, async () => {
      const { challenge, response } = await assertion(spoil);
      await expect(
        verifyAuthentication(response, { rp, expectedChallenge: challenge, credential, requireUserHandle: true }),
      ).rejects.toThrow(PasskeyError);
    });
  }

  it("is refused when the counter did not grow since the last use: a cloned authenticator (step 22)", async () => {
    const first = await assertion();
    const { credential: updated } = await verifyAuthentication(first.response, {
      rp,
      expectedChallenge: first.challenge,
      credential,
      requireUserHandle: true,
    });
    expect(updated.counter).toBe(1);
    const { challenge, response } = await assertion({ signCount: 1 });
    await expect(
      verifyAuthentication(response, {
        rp,
        expectedChallenge: challenge,
        credential: updated,
        requireUserHandle: true,
      }),
    ).rejects.toThrow(PasskeyError);
  });

  it("a step-up for a signed-in user may leave the user handle out", async () => {
    const { challenge, response } = await assertion({ userHandle: null });
    await expect(
      verifyAuthentication(response, { rp, expectedChallenge: challenge, credential, requireUserHandle: false }),
    ).resolves.toMatchObject({ subject: "alice" });
  });

  it("an assertion checked against another stored credential is refused", async () => {
    const other = await registered(new SoftAuthenticator());
    const { challenge, response } = await assertion();
    await expect(
      verifyAuthentication(response, { rp, expectedChallenge: challenge, credential: other, requireUserHandle: true }),
    ).rejects.toThrow(/another credential/);
  });
});

describe("stored credential records are parsed, not cast", () => {
  it("refuses records with a wrong or missing field", async () => {
    const good = await registered(new SoftAuthenticator());
    const spoiled: Record<string, unknown>[] = [
      { ...good, id: "" },
      { ...good, id: "not base64!" },
      { ...good, publicKey: undefined },
      { ...good, counter: -1 },
      { ...good, counter: 2 ** 32 },
      { ...good, transports: ["usb", "carrier-pigeon"] },
      { ...good, transports: "usb" },
      { ...good, userHandle: base64url(new Uint8Array(65)) },
      { ...good, subject: "" },
      { ...good, multiDevice: "yes" },
      { ...good, aaguid: "x" },
      { ...good, label: "Phone\u0007" },
      { ...good, createdAt: "today" },
      { ...good, lastUsedAt: -5 },
    ];
    for (const record of spoiled) expect(parsePasskeyCredential(record).ok).toBe(false);
    for (const record of [null, [], "x", 1]) expect(parsePasskeyCredential(record).ok).toBe(false);
  });
});

describe("challenges held in a sealed cookie, no storage write", () => {
  it("opens to the same challenge for the same purpose and binding, with an id for single use", async () => {
    const sealed = await sealChallenge(key, "step-up", "ciba-request-1");
    const opened = await openChallenge(key, sealed.cookie, "step-up", "ciba-request-1");
    expect(opened).toMatchObject({ ok: true, challenge: sealed.challenge, expiresAt: sealed.expiresAt });
    expect(opened.ok && opened.challengeId).toMatch(/^[\w-]{43}$/);
  });

  it("is refused for another purpose, another binding, after expiry, tampered, or under another key", async () => {
    const now = 1_900_000_000;
    const sealed = await sealChallenge(key, "register", session, { now, ttl: 120 });
    const [version, payload, tag] = sealed.cookie.split(".");
    const cases: [string | undefined, string, string, number, string, RegExp][] = [
      [sealed.cookie, "sign-in", session, now, key, /made for register/],
      [sealed.cookie, "register", "session-2", now, key, /another session/],
      [sealed.cookie, "register", session, now + 120, key, /expired/],
      [`${version}.${payload}x.${tag}`, "register", session, now, key, /not ours/],
      [sealed.cookie, "register", session, now, fresh(), /not ours/],
      [undefined, "register", session, now, key, /no challenge cookie/],
      ["v2.a.b", "register", session, now, key, /malformed/],
    ];
    for (const [cookie, purpose, binding, at, withKey, error] of cases) {
      const opened = await openChallenge(withKey, cookie, purpose as "register", binding, at);
      expect(opened.ok).toBe(false);
      expect(!opened.ok && opened.error).toMatch(error);
    }
  });

  it("a whole sign-in: seal, offer, assert, open, verify", async () => {
    const authenticator = new SoftAuthenticator();
    const credential = await registered(authenticator);
    const sealed = await sealChallenge(key, "sign-in", "browser-nonce");
    const response = await authenticator.authenticate(await authenticationOptions(rp, sealed.challenge), rp.origin);
    const opened = await openChallenge(key, sealed.cookie, "sign-in", "browser-nonce");
    if (!opened.ok) throw new Error(opened.error);
    const verified = await verifyAuthentication(response, {
      rp,
      expectedChallenge: opened.challenge,
      credential,
      requireUserHandle: true,
    });
    expect(verified.subject).toBe("alice");
  });

  it("cookie: __Host- over https, HttpOnly, SameSite=Strict, two minutes", () => {
    expect(challengeCookie("step-up", true)).toEqual({
      name: "__Host-edge-op-webauthn-step-up",
      attributes: { httpOnly: true, secure: true, sameSite: "Strict", path: "/", maxAge: 120 },
    });
    expect(challengeCookie("step-up", false).name).toBe("edge-op-webauthn-step-up");
  });
});

describe("amr and the phr class", () => {
  it("RFC 8176 values for a user-verified passkey, and phr met by pop (OpenID EAP ACR Values)", () => {
    expect(PASSKEY_AMR).toEqual(["pop", "user", "mfa"]);
    expect(PHR_CLASS.value).toBe(ACR_PHISHING_RESISTANT);
    expect(PHR_CLASS.metBy.some((m) => PASSKEY_AMR.includes(m))).toBe(true);
    expect(PHR_CLASS.metBy.includes("pwd")).toBe(false);
  });
});
