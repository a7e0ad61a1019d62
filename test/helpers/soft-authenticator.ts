/**
 * A software WebAuthn authenticator for the tests: what a browser plus a platform authenticator
 * would hand the page, built from the specification with Web Crypto and a few lines of CBOR,
 * so passkey ceremonies are verified end to end inside workerd without a browser.
 *
 *  - registration: clientDataJSON (type webauthn.create) and an attestation object in the "none"
 *    format (W3C WebAuthn L3 §8.7) whose authenticator data (§6.1) carries the attested
 *    credential data: AAGUID, credential id and the ES256 public key as a COSE_Key (RFC 9053);
 *  - authentication: authenticator data and an ES256 signature (ASN.1 DER, §6.5.5) over
 *    authenticatorData || SHA-256(clientDataJSON).
 * Every field can be spoiled per call, for the negative tests.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { base64url, fromBase64url } from "../../src/crypto/encoding";

// --- CBOR (RFC 8949), just what attestation objects and COSE keys use -------------------------

type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;

function head(major: number, value: number): number[] {
  if (value < 24) return [(major << 5) | value];
  if (value < 0x100) return [(major << 5) | 24, value];
  if (value < 0x10000) return [(major << 5) | 25, value >> 8, value & 0xff];
  return [(major << 5) | 26, (value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

export function cbor(value: Cbor): Uint8Array {
  if (typeof value === "number") return new Uint8Array(value >= 0 ? head(0, value) : head(1, -1 - value));
  if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    return new Uint8Array([...head(3, bytes.length), ...bytes]);
  }
  if (value instanceof Uint8Array) return new Uint8Array([...head(2, value.length), ...value]);
  const parts = [...value].flatMap(([k, v]) => [...cbor(k), ...cbor(v)]);
  return new Uint8Array([...head(5, value.size), ...parts]);
}

// --- helpers -----------------------------------------------------------------------------------

const encoder = new TextEncoder();

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

function uint32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** An ECDSA P-256 signature from Web Crypto's r || s to ASN.1 DER, as WebAuthn carries it. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.slice(i);
    const body = (trimmed[0] ?? 0) & 0x80 ? [0, ...trimmed] : [...trimmed];
    return [0x02, body.length, ...body];
  };
  const sequence = [...integer(raw.slice(0, 32)), ...integer(raw.slice(32))];
  return new Uint8Array([0x30, sequence.length, ...sequence]);
}

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

/** What a test may change in one ceremony to see it refused. */
export interface Spoil {
  userPresent?: boolean;
  userVerified?: boolean;
  /** clientDataJSON fields. */
  type?: string;
  challenge?: string;
  origin?: string;
  /** A different RP ID hashed into the authenticator data. */
  rpId?: string;
  /** The signature counter to report (default: one more than last time). */
  signCount?: number;
  /** userHandle in the assertion (null: left out). */
  userHandle?: string | null;
  /** Flip a bit of the signature. */
  badSignature?: boolean;
}

export class SoftAuthenticator {
  readonly credentialId = crypto.getRandomValues(new Uint8Array(16));
  private keys?: CryptoKeyPair;
  private signCount = 0;
  private userHandle?: string;
  private rpId?: string;

  /**
   * `counting`: a security-key-like counter that grows with each use; false: always 0, as most
   * synced passkeys report. `backupEligible`: a multi-device (synced) passkey.
   */
  constructor(private readonly options: { counting?: boolean; backupEligible?: boolean } = {}) {}

  get id(): string {
    return base64url(this.credentialId);
  }

  private flags(spoil: Spoil, extra = 0): number {
    let flags = extra;
    if (spoil.userPresent ?? true) flags |= FLAG.UP;
    if (spoil.userVerified ?? true) flags |= FLAG.UV;
    if (this.options.backupEligible) flags |= FLAG.BE | FLAG.BS;
    return flags;
  }

  private clientData(type: string, challenge: string, origin: string, spoil: Spoil): Uint8Array {
    return encoder.encode(
      JSON.stringify({
        type: spoil.type ?? type,
        challenge: spoil.challenge ?? challenge,
        origin: spoil.origin ?? origin,
        crossOrigin: false,
      }),
    );
  }

  /** navigator.credentials.create() with these options, on `origin`. */
  async register(
    options: PublicKeyCredentialCreationOptionsJSON,
    origin: string,
    spoil: Spoil = {},
  ): Promise<RegistrationResponseJSON> {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    if (!("privateKey" in pair)) throw new Error("no key pair");
    this.keys = pair;
    this.userHandle = options.user.id;
    this.rpId = options.rp.id ?? new URL(origin).hostname;
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
    if (!(raw instanceof ArrayBuffer)) throw new Error("no raw key");
    const point = new Uint8Array(raw);
    const coseKey = cbor(
      new Map<number, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, point.slice(1, 33)],
        [-3, point.slice(33)],
      ]),
    );
    const authData = new Uint8Array([
      ...(await sha256(encoder.encode(spoil.rpId ?? this.rpId))),
      this.flags(spoil, FLAG.AT),
      ...uint32(spoil.signCount ?? 0),
      ...new Uint8Array(16), // AAGUID: zeros, as under attestation "none"
      this.credentialId.length >> 8,
      this.credentialId.length & 0xff,
      ...this.credentialId,
      ...coseKey,
    ]);
    const attestationObject = cbor(
      new Map<string, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: base64url(this.clientData("webauthn.create", options.challenge, origin, spoil)),
        attestationObject: base64url(attestationObject),
        transports: ["internal", "hybrid"],
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get() with these options, on `origin`. */
  async authenticate(
    options: PublicKeyCredentialRequestOptionsJSON,
    origin: string,
    spoil: Spoil = {},
  ): Promise<AuthenticationResponseJSON> {
    if (!this.keys || !this.rpId || !this.userHandle) throw new Error("register first");
    if (this.options.counting) this.signCount++;
    const authData = new Uint8Array([
      ...(await sha256(encoder.encode(spoil.rpId ?? options.rpId ?? this.rpId))),
      this.flags(spoil),
      ...uint32(spoil.signCount ?? this.signCount),
    ]);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, origin, spoil);
    const signed = new Uint8Array([...authData, ...(await sha256(clientDataJSON))]);
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, signed),
    );
    const signature = derSignature(raw);
    if (spoil.badSignature) signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
    const userHandle = spoil.userHandle === undefined ? this.userHandle : spoil.userHandle;
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: base64url(clientDataJSON),
        authenticatorData: base64url(authData),
        signature: base64url(signature),
        ...(userHandle !== null && { userHandle }),
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }
}

/** The challenge a page's options carry, decoded (for assertions about options). */
export function optionsChallenge(options: { challenge: string }): Uint8Array | undefined {
  return fromBase64url(options.challenge);
}
