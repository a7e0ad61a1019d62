/**
 * What a passkey assertion lets edge-op state about the authentication, for `amr` (RFC 8176)
 * and `acr` (OpenID Connect Core §2; OpenID EAP ACR Values 1.0).
 *
 * A verified assertion with user verification (the only kind src/webauthn/passkeys.ts accepts):
 *  - `pop`: proof of possession of a key (the credential's private key signed the challenge);
 *  - `user`: a user presence test (the UP flag);
 *  - `mfa`: the device verified the user (UV: PIN or biometric) on top of possession, so two
 *    factors. RFC 8176 adds the specific methods where known; which one the device used (`pin`,
 *    `fpt`, `face`) WebAuthn does not say, so none is claimed.
 * Not `hwk`/`swk`: with attestation "none" edge-op has no evidence where the key lives.
 *
 * `phr` (EAP ACR Values §2: phishing-resistant, "a party potentially under the control of the
 * Relying Party cannot gain sufficient information to be able to successfully authenticate to
 * the End User's OpenID Provider as if that party were the End User"): WebAuthn assertions are
 * bound to edge-op's origin by the browser, so a passkey assertion meets it; a password never
 * does. `phrh` (hardware-protected) would need attestation and is not offered.
 */
import type { AcrClass } from "../authn/acr";

/** RFC 8176 values for a verified, user-verified passkey assertion. */
export const PASSKEY_AMR: readonly string[] = ["pop", "user", "mfa"];

/** OpenID EAP ACR Values 1.0 §2. */
export const ACR_PHISHING_RESISTANT = "phr";

/**
 * The class to add to ACR_CLASSES in src/authn/acr.ts (not edited here: issue 13 owns it).
 * Met by `pop`, which edge-op states only for a passkey assertion verified in the interaction
 * being completed (a step-up), never inherited from an earlier sign-in: the approval's amr is
 * the step-up's, see the report of issue 16's prep.
 */
export const PHR_CLASS: AcrClass = {
  value: ACR_PHISHING_RESISTANT,
  description:
    "Phishing-resistant (OpenID EAP ACR Values): the user approved with a passkey (WebAuthn, origin-bound) and user verification, in this interaction (amr pop, user, mfa).",
  metBy: ["pop"],
};
