/**
 * The key types src/pki/ generates and accepts, and what each signs with. Only what Cloudflare's
 * edge validates and edge-op's certificate matching reads: ECDSA P-256 and P-384, and RSA with
 * rsaEncryption keys signing PKCS#1 v1.5 (Cloudflare lists SHA*WithRSA and ECDSAWithSHA* for
 * uploaded CAs; certificate-match.ts imports RSA keys as RSASSA-PKCS1-v1_5). RSA-PSS and
 * Ed25519 keys are refused rather than producing certificates the edge would reject.
 */
import { base64url } from "../crypto/encoding";
import { type PkiField, PkiInputError } from "./errors";

/** What the console offers to generate. RSA 4096 is accepted in a CSR or an import, not generated: it can take seconds of CPU in a Worker. */
export const GENERATED_KEY_ALGORITHMS = ["P-256", "P-384", "RSA-2048", "RSA-3072"] as const;
export type GeneratedKeyAlgorithm = (typeof GENERATED_KEY_ALGORITHMS)[number];

/** A key's type as stored and shown: `P-256`, `P-384` or `RSA-<bits>`. */
export type KeyAlgorithmName = "P-256" | "P-384" | `RSA-${number}`;

const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;

/** A generated pair (not `CryptoKeyPair`: @types/node has no global of that name). */
export interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/** Web Crypto's parameter types, named the same way under workers-types and @types/node. */
export type KeyParams = Parameters<typeof crypto.subtle.importKey>[2];
type SignParams = Parameters<typeof crypto.subtle.sign>[0];

/** Web Crypto parameters for importing and using a key of this type. */
export function keyParams(algorithm: KeyAlgorithmName): KeyParams {
  if (algorithm === "P-256" || algorithm === "P-384") return { name: "ECDSA", namedCurve: algorithm };
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

/** The certificate signature algorithm a key of this type signs with (ecdsa-with-SHA256/384, sha256WithRSAEncryption). */
export function signingAlgorithm(algorithm: KeyAlgorithmName): SignParams & { hash: string } {
  if (algorithm === "P-256") return { name: "ECDSA", hash: "SHA-256" };
  if (algorithm === "P-384") return { name: "ECDSA", hash: "SHA-384" };
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

export function parseGeneratedKeyAlgorithm(value: string): GeneratedKeyAlgorithm {
  const found = GENERATED_KEY_ALGORITHMS.find((a) => a === value);
  if (!found) {
    throw new PkiInputError("key_algorithm", `choose one of ${GENERATED_KEY_ALGORITHMS.join(", ")}`);
  }
  return found;
}

/**
 * An extractable key pair: the private key is exported once (PEM, .pfx, or encrypted for
 * storage). The name is checked again here because it arrives from a form: a value outside the
 * list must be refused, not fall through to some other key size.
 */
export async function generateKeyPair(requested: GeneratedKeyAlgorithm): Promise<KeyPair> {
  const algorithm = parseGeneratedKeyAlgorithm(requested);
  const params =
    algorithm === "P-256" || algorithm === "P-384"
      ? { name: "ECDSA", namedCurve: algorithm }
      : {
          name: "RSASSA-PKCS1-v1_5",
          hash: "SHA-256",
          modulusLength: algorithm === "RSA-2048" ? 2048 : 3072,
          publicExponent: new Uint8Array([1, 0, 1]),
        };
  return (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as KeyPair;
}

export interface PublicKeyInfo {
  algorithm: KeyAlgorithmName;
  key: CryptoKey;
  /** The public key as a JWK with only its key members (RFC 7517/7518): what a client registers in `jwks`. */
  jwk: PublicJwk;
}

export type PublicJwk = { kty: "EC"; crv: string; x: string; y: string } | { kty: "RSA"; n: string; e: string };

/**
 * Reads a SubjectPublicKeyInfo as one of the supported types, trying each as
 * certificate-match.ts does; anything else (RSA-PSS, Ed25519, another curve, RSA outside
 * 2048–4096 bits) is refused with a message for `field`.
 */
export async function importPublicKey(spki: Uint8Array, field: PkiField): Promise<PublicKeyInfo> {
  for (const algorithm of ["P-256", "P-384", "RSA-2048"] as const) {
    let key: CryptoKey;
    try {
      key = await crypto.subtle.importKey("spki", spki, keyParams(algorithm), true, ["verify"]);
    } catch {
      continue;
    }
    const name = algorithm === "RSA-2048" ? rsaName(key, field) : algorithm;
    return { algorithm: name, key, jwk: await publicJwk(key) };
  }
  throw new PkiInputError(field, "the key must be ECDSA P-256 or P-384, or RSA (rsaEncryption) of 2048 to 4096 bits");
}

function rsaName(key: CryptoKey, field: PkiField): KeyAlgorithmName {
  const bits = "modulusLength" in key.algorithm ? Number(key.algorithm.modulusLength) : 0;
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
    throw new PkiInputError(field, `an RSA key must have 2048 to 4096 bits, this one has ${bits}`);
  }
  return `RSA-${bits}`;
}

/** A key as DER (PKCS#8 or SubjectPublicKeyInfo); the typings allow a JWK here, the format does not. */
export async function exportDer(key: CryptoKey, format: "pkcs8" | "spki"): Promise<Uint8Array> {
  const exported = await crypto.subtle.exportKey(format, key);
  if (!(exported instanceof ArrayBuffer)) throw new Error(`${format} export did not return bytes`);
  return new Uint8Array(exported);
}

export async function publicJwk(key: CryptoKey): Promise<PublicJwk> {
  const jwk = (await crypto.subtle.exportKey("jwk", key)) as {
    kty?: string;
    crv?: string;
    x?: string;
    y?: string;
    n?: string;
    e?: string;
  };
  if (jwk.kty === "EC" && jwk.crv && jwk.x && jwk.y) return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
  if (jwk.kty === "RSA" && jwk.n && jwk.e) return { kty: "RSA", n: jwk.n, e: jwk.e };
  throw new Error(`unexpected public JWK of type ${jwk.kty}`);
}

/**
 * Imports a PKCS#8 private key as the type of the certificate it belongs to. Import fails for a
 * key of another type or curve; a key of the right type but another pair is caught by
 * `provesPossession`.
 */
export async function importPrivateKey(
  pkcs8: Uint8Array,
  algorithm: KeyAlgorithmName,
  extractable: boolean,
): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8, keyParams(algorithm), extractable, ["sign"]);
  } catch {
    throw new PkiInputError("private_key", `the private key is not a PKCS#8 ${algorithm} key`);
  }
}

/** The private key signs a fresh challenge that the public key verifies: the two are one pair. */
export async function provesPossession(privateKey: CryptoKey, publicKey: CryptoKey, algorithm: KeyAlgorithmName) {
  const params = signingAlgorithm(algorithm);
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign(params, privateKey, challenge);
  return crypto.subtle.verify(params, publicKey, signature, challenge);
}

/** RFC 8705 §3.1 / RFC 7515 §4.1.8: base64url SHA-256 of the DER certificate. */
export async function x5tS256(der: Uint8Array): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
}
