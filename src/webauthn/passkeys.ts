/**
 * Passkey ceremonies (W3C WebAuthn Level 3) as thin wrappers over @simplewebauthn/server, with
 * edge-op's policy fixed in one place:
 *  - discoverable credentials (residentKey "required"), so sign-in needs no username and the
 *    credential says whose it is (its user handle);
 *  - user verification required in every ceremony (a PIN or biometric on the device), so a
 *    passkey sign-in is multi-factor and a step-up proves the user, not just the device;
 *  - attestation "none": edge-op does not vet authenticator models, so it claims nothing about
 *    hardware (no RFC 8176 `hwk`);
 *  - ES256, EdDSA and RS256 keys (COSE -7, -8, -257).
 * Each verification also checks what the library leaves to its caller: the assertion is for
 * the credential looked up, and its user handle is that credential's.
 */
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { base64url, fromBase64url } from "../crypto/encoding";
import { PASSKEY_AMR } from "./amr";
import { cleanLabel, type PasskeyCredential, parseTransports } from "./credential";

/** Where the ceremony runs: the RP ID (a registrable domain, e.g. the issuer's host) and origin. */
export interface RelyingParty {
  /** W3C WebAuthn L3 §5.4.2 rp.id: the issuer's host name. */
  id: string;
  /** Shown by the browser when creating a passkey. */
  name: string;
  /** The issuer's origin, e.g. https://login.example.com (http://localhost in development). */
  origin: string;
}

export const SUPPORTED_ALGORITHMS = [-7, -8, -257];
const TIMEOUT_MS = 120_000;

/** A failed ceremony: the message is for logs; the user gets a plain "that did not work". */
export class PasskeyError extends Error {
  override name = "PasskeyError";
}

/** base64url to octets the library's types accept (backed by an ArrayBuffer, not a shared one). */
function octets(text: string): Uint8Array<ArrayBuffer> | undefined {
  const bytes = fromBase64url(text);
  return bytes && new Uint8Array(bytes);
}

function challengeBytes(challenge: string): Uint8Array<ArrayBuffer> {
  const bytes = octets(challenge);
  if (!bytes || bytes.length < 16) throw new Error("a challenge is at least 16 octets, base64url");
  return bytes;
}

export interface RegistrationInput {
  rp: RelyingParty;
  user: { handle: string; name: string; displayName: string };
  /** From sealChallenge (src/webauthn/challenge.ts). */
  challenge: string;
  /** The user's passkeys, so the same authenticator is not registered twice (§5.4 excludeCredentials). */
  existing: readonly Pick<PasskeyCredential, "id" | "transports">[];
}

/** Options for navigator.credentials.create() (§5.4), as JSON for the page. */
export function registrationOptions(input: RegistrationInput): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const userId = octets(input.user.handle);
  if (!userId || userId.length < 1 || userId.length > 64) throw new Error("a user handle is 1 to 64 octets");
  return generateRegistrationOptions({
    rpName: input.rp.name,
    rpID: input.rp.id,
    userName: input.user.name,
    userDisplayName: input.user.displayName,
    userID: userId,
    challenge: challengeBytes(input.challenge),
    timeout: TIMEOUT_MS,
    attestationType: "none",
    excludeCredentials: input.existing.map((c) => ({ id: c.id, transports: c.transports })),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
}

export interface RegistrationCheck {
  rp: RelyingParty;
  /** The challenge opened from the cookie. */
  expectedChallenge: string;
  user: { handle: string; subject: string };
  label?: string;
  now?: number;
}

/**
 * Verifies the browser's answer to registrationOptions (§7.1) and returns the record to store.
 * `response` is the page's JSON, untrusted: anything malformed or unverified is a PasskeyError.
 */
export async function verifyRegistration(response: unknown, check: RegistrationCheck): Promise<PasskeyCredential> {
  let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    result = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: check.expectedChallenge,
      expectedOrigin: check.rp.origin,
      expectedRPID: check.rp.id,
      requireUserVerification: true,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
  } catch (error) {
    throw new PasskeyError(`registration refused: ${error instanceof Error ? error.message : error}`);
  }
  if (!result.verified) throw new PasskeyError("registration not verified");
  const info = result.registrationInfo;
  // Verified, so an object; its transports are only a hint for later sign-ins, kept if known.
  const reported = (response as { response?: { transports?: unknown } }).response?.transports;
  return {
    id: info.credential.id,
    publicKey: base64url(info.credential.publicKey),
    counter: info.credential.counter,
    transports: parseTransports(reported),
    userHandle: check.user.handle,
    subject: check.user.subject,
    multiDevice: info.credentialDeviceType === "multiDevice",
    backedUp: info.credentialBackedUp,
    aaguid: info.aaguid,
    label: cleanLabel(check.label),
    createdAt: check.now ?? Math.floor(Date.now() / 1000),
    lastUsedAt: null,
  };
}

/**
 * Options for navigator.credentials.get() (§5.5): no allowCredentials, so the browser offers
 * the user's discoverable passkeys for this RP (sign-in without a username). For a step-up,
 * pass the signed-in user's passkeys so only theirs are offered.
 */
export function authenticationOptions(
  rp: RelyingParty,
  challenge: string,
  allow: readonly Pick<PasskeyCredential, "id" | "transports">[] = [],
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: rp.id,
    challenge: challengeBytes(challenge),
    timeout: TIMEOUT_MS,
    userVerification: "required",
    allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports })),
  });
}

/** The credential id an assertion names, to look the stored credential up by (then verify). */
export function assertedCredentialId(response: unknown): string | undefined {
  const id = (response as { id?: unknown } | null)?.id;
  return typeof id === "string" && id.length > 0 && id.length <= 1400 && fromBase64url(id) ? id : undefined;
}

export interface AuthenticationCheck {
  rp: RelyingParty;
  expectedChallenge: string;
  /** The stored credential assertedCredentialId named. */
  credential: PasskeyCredential;
  /**
   * Sign-in (no username): the user is known only from the credential, so the assertion must
   * name its user handle (§7.2 step 6). A step-up, for a signed-in user, may omit it.
   */
  requireUserHandle: boolean;
  now?: number;
}

/** What a verified assertion proved, and the credential with its counter and use updated. */
export interface VerifiedAssertion {
  subject: string;
  /** To store back (new counter, backup state, last use). */
  credential: PasskeyCredential;
  /** RFC 8176 methods for the session or the approval (src/webauthn/amr.ts). */
  amr: readonly string[];
}

/**
 * Verifies an assertion (§7.2) against the stored credential: signature, challenge, origin,
 * RP ID, user presence and verification, counter (a counter that went backwards means a cloned
 * authenticator and is refused), and that the user handle returned is the credential's.
 */
export async function verifyAuthentication(response: unknown, check: AuthenticationCheck): Promise<VerifiedAssertion> {
  const { credential } = check;
  if (assertedCredentialId(response) !== credential.id) throw new PasskeyError("assertion names another credential");
  // §7.2 step 6: the user handle, when given (always, for a sign-in), must be the credential's.
  const userHandle = (response as { response?: { userHandle?: unknown } }).response?.userHandle ?? undefined;
  if (userHandle === undefined && check.requireUserHandle) throw new PasskeyError("assertion names no user");
  if (userHandle !== undefined && userHandle !== credential.userHandle) {
    throw new PasskeyError("assertion's user handle is not the credential's");
  }
  const publicKey = octets(credential.publicKey);
  if (!publicKey) throw new PasskeyError("stored public key unreadable");
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    result = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: check.expectedChallenge,
      expectedOrigin: check.rp.origin,
      expectedRPID: check.rp.id,
      credential: { id: credential.id, publicKey, counter: credential.counter, transports: credential.transports },
      requireUserVerification: true,
    });
  } catch (error) {
    throw new PasskeyError(`assertion refused: ${error instanceof Error ? error.message : error}`);
  }
  if (!result.verified || !result.authenticationInfo.userVerified) throw new PasskeyError("assertion not verified");
  return {
    subject: credential.subject,
    amr: PASSKEY_AMR,
    credential: {
      ...credential,
      counter: result.authenticationInfo.newCounter,
      backedUp: result.authenticationInfo.credentialBackedUp,
      lastUsedAt: check.now ?? Math.floor(Date.now() / 1000),
    },
  };
}
