/**
 * PKCS#12 (.pfx) files (RFC 7292) with a client certificate, its private key and its CA, for
 * clients that load a certificate from one password-protected file: the tutorial's .NET console
 * app (`new X509Certificate2("CN=client.pfx", password)`), Windows' certificate import, Java
 * keystores, curl and Node (`tls.createSecureContext({ pfx, passphrase })`).
 *
 * The layout and algorithms are OpenSSL 3's `openssl pkcs12 -export` defaults, which current
 * .NET, recent Windows and OpenSSL 1.1.1+ read:
 * - the certificates in an EncryptedData and the key in a pkcs8ShroudedKeyBag, each encrypted
 *   with PBES2 (RFC 8018 §6.2): PBKDF2 with HMAC-SHA256 and AES-256-CBC;
 * - the whole protected by a SHA-256 HMAC (RFC 7292 §5, the MAC key from the PKCS#12 KDF of
 *   Appendix B, as OpenSSL and .NET compute it; not PBMAC1, which older .NET cannot read);
 * - the certificate and its key tied by the same localKeyId (SHA-1 of the certificate, as
 *   OpenSSL does), which is how Windows and .NET pair them.
 * Legacy files (RC2/3DES, SHA-1 MAC) are not written: OpenSSL 3 refuses them without its legacy
 * provider.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import * as asn1js from "asn1js";
import { PkiInputError } from "./errors";

export interface Pkcs12Input {
  /** The leaf certificate, DER. */
  certificate: Uint8Array;
  /** Its private key, PKCS#8 DER. */
  privateKey: Uint8Array;
  /** Further certificates to include (the issuing CA), DER. */
  chain?: Uint8Array[];
  password: string;
  /** Shown as the certificate's name when imported (Windows, keychains). */
  friendlyName?: string;
  /**
   * PBKDF2 and MAC iterations. 2048 is OpenSSL's default; .NET's loader refuses more than
   * 300,000 per derivation and 1,000,000 in all. The password, not the count, is what protects
   * the file: use a long random one (`generatePkcs12Password`).
   */
  iterations?: number;
}

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  certBag: "1.2.840.113549.1.12.10.1.3",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

export const DEFAULT_PKCS12_ITERATIONS = 2048;
const MAX_ITERATIONS = 300_000;

export async function buildPkcs12(input: Pkcs12Input): Promise<Uint8Array> {
  const password = checkPassword(input.password);
  const iterations = input.iterations ?? DEFAULT_PKCS12_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`PKCS#12 iterations must be 1 to ${MAX_ITERATIONS}`);
  }
  const localKeyId = new Uint8Array(await crypto.subtle.digest("SHA-1", input.certificate));
  const attributes = bagAttributes(localKeyId, input.friendlyName);

  const certificates = safeContents([
    certBag(input.certificate, attributes),
    ...(input.chain ?? []).map((der) => certBag(der, undefined)),
  ]);
  const key = safeContents([
    safeBag(OID.pkcs8ShroudedKeyBag, await encryptedPrivateKeyInfo(input.privateKey, password, iterations), attributes),
  ]);
  // RFC 7292 §4.1: AuthenticatedSafe, one ContentInfo per SafeContents; §5.1 step 1 order.
  const authenticatedSafe = der(
    new asn1js.Sequence({
      value: [
        contentInfo(OID.encryptedData, await encryptedData(certificates, password, iterations)),
        contentInfo(OID.data, new asn1js.OctetString({ valueHex: key })),
      ],
    }),
  );
  const pfx = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 3 }),
      contentInfo(OID.data, new asn1js.OctetString({ valueHex: authenticatedSafe })),
      await macData(authenticatedSafe, password, iterations),
    ],
  });
  return der(pfx);
}

/**
 * A password that reads the same in UTF-8 (PBKDF2's input, RFC 8018) and as a BMPString (the
 * MAC's, RFC 7292 Appendix B.1) in every implementation: printable ASCII.
 */
function checkPassword(password: string): string {
  if (password.length < 8 || password.length > 128) {
    throw new PkiInputError("password", "the .pfx password must have 8 to 128 characters");
  }
  if (!/^[\x20-\x7e]+$/.test(password)) {
    throw new PkiInputError("password", "the .pfx password may only hold printable ASCII characters");
  }
  return password;
}

/** 24 characters from 144 random bits, no characters that are awkward on a command line. */
export function generatePkcs12Password(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_");
}

function der(node: asn1js.AsnType): Uint8Array {
  return new Uint8Array(node.toBER(false));
}

/** `[0] EXPLICIT`, as in ContentInfo's content and SafeBag's bagValue. */
function explicit0(inner: asn1js.AsnType): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [inner] });
}

function contentInfo(type: string, content: asn1js.AsnType): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), explicit0(content)] });
}

function bagAttributes(localKeyId: Uint8Array, friendlyName: string | undefined): asn1js.Set {
  const attribute = (type: string, value: asn1js.AsnType) =>
    new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), new asn1js.Set({ value: [value] })] });
  const list = [attribute(OID.localKeyId, new asn1js.OctetString({ valueHex: localKeyId }))];
  if (friendlyName) list.push(attribute(OID.friendlyName, new asn1js.BmpString({ value: friendlyName })));
  return derSetOf(list);
}

/** X.690 §11.6: the elements of a DER SET OF in the order of their encodings. */
function derSetOf(items: asn1js.AsnType[]): asn1js.Set {
  const compare = (a: Uint8Array, b: Uint8Array) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
    return a.length - b.length;
  };
  const sorted = items.map((item) => ({ item, bytes: der(item) })).sort((a, b) => compare(a.bytes, b.bytes));
  return new asn1js.Set({ value: sorted.map((s) => s.item) });
}

/** RFC 7292 §4.2: SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF OPTIONAL }. */
function safeBag(type: string, value: asn1js.AsnType, attributes: asn1js.Set | undefined): asn1js.Sequence {
  const fields: asn1js.AsnType[] = [new asn1js.ObjectIdentifier({ value: type }), explicit0(value)];
  if (attributes) fields.push(attributes);
  return new asn1js.Sequence({ value: fields });
}

/** §4.2.3: CertBag ::= SEQUENCE { certId x509Certificate, certValue [0] EXPLICIT OCTET STRING (DER) }. */
function certBag(certificate: Uint8Array, attributes: asn1js.Set | undefined): asn1js.Sequence {
  const bag = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.x509Certificate }),
      explicit0(new asn1js.OctetString({ valueHex: certificate })),
    ],
  });
  return safeBag(OID.certBag, bag, attributes);
}

function safeContents(bags: asn1js.Sequence[]): Uint8Array {
  return der(new asn1js.Sequence({ value: bags }));
}

interface Pbes2 {
  algorithm: asn1js.Sequence;
  ciphertext: Uint8Array;
}

/**
 * RFC 8018 §6.2 PBES2 with PBKDF2-HMAC-SHA256 (§5.2, A.2) and AES-256-CBC (B.2.5), fresh salt and
 * IV each time. The AlgorithmIdentifier is the one OpenSSL 3 writes.
 */
async function pbes2Encrypt(plaintext: Uint8Array, password: string, iterations: number): Promise<Pbes2> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations, hash: "SHA-256" },
    base,
    { name: "AES-CBC", length: 256 },
    false,
    ["encrypt"],
  );
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, plaintext));
  const oid = (value: string) => new asn1js.ObjectIdentifier({ value });
  const algorithm = new asn1js.Sequence({
    value: [
      oid(OID.pbes2),
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [
              oid(OID.pbkdf2),
              new asn1js.Sequence({
                value: [
                  new asn1js.OctetString({ valueHex: salt }),
                  new asn1js.Integer({ value: iterations }),
                  new asn1js.Sequence({ value: [oid(OID.hmacWithSHA256), new asn1js.Null()] }),
                ],
              }),
            ],
          }),
          new asn1js.Sequence({ value: [oid(OID.aes256Cbc), new asn1js.OctetString({ valueHex: iv })] }),
        ],
      }),
    ],
  });
  return { algorithm, ciphertext };
}

/** RFC 5958 §3 EncryptedPrivateKeyInfo, the value of a pkcs8ShroudedKeyBag (RFC 7292 §4.2.2). */
async function encryptedPrivateKeyInfo(pkcs8: Uint8Array, password: string, iterations: number) {
  const { algorithm, ciphertext } = await pbes2Encrypt(pkcs8, password, iterations);
  return new asn1js.Sequence({ value: [algorithm, new asn1js.OctetString({ valueHex: ciphertext })] });
}

/** RFC 5652 §8 EncryptedData { version 0, EncryptedContentInfo { data, alg, [0] IMPLICIT ciphertext } }. */
async function encryptedData(plaintext: Uint8Array, password: string, iterations: number) {
  const { algorithm, ciphertext } = await pbes2Encrypt(plaintext, password, iterations);
  return new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID.data }),
          algorithm,
          new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ciphertext }),
        ],
      }),
    ],
  });
}

/** RFC 7292 §5.1 step 4 / §4: MacData { DigestInfo { sha256, HMAC }, macSalt, iterations }. */
async function macData(authenticatedSafe: Uint8Array, password: string, iterations: number) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const keyBytes = pkcs12Kdf(password, salt, iterations, 3);
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, authenticatedSafe));
  return new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.sha256 }), new asn1js.Null()] }),
          new asn1js.OctetString({ valueHex: mac }),
        ],
      }),
      new asn1js.OctetString({ valueHex: salt }),
      new asn1js.Integer({ value: iterations }),
    ],
  });
}

/**
 * RFC 7292 Appendix B.2 with SHA-256 (u = 32, v = 64), for a 32-byte key: the password as a
 * BMPString with its two-byte terminator (B.1), salt and password each repeated to a multiple of
 * v, and A = H^iterations(D || S || P). One block (n = u) is all the HMAC-SHA256 key needs, so
 * the I-update of step 6C never runs. The hash chain is computed synchronously (@noble/hashes):
 * 2048 awaited Web Crypto digests cost about 40 ms of CPU in call overhead, four times the Free
 * plan's limit per request; this way building the whole file took under 10 ms of CPU in Node.
 */
export function pkcs12Kdf(password: string, salt: Uint8Array, iterations: number, id: 1 | 2 | 3): Uint8Array {
  const v = 64;
  const bmp = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    const code = password.charCodeAt(i);
    bmp[i * 2] = code >> 8;
    bmp[i * 2 + 1] = code & 0xff;
  }
  const repeat = (bytes: Uint8Array) => {
    const out = new Uint8Array(v * Math.ceil(bytes.length / v));
    for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length] ?? 0;
    return out;
  };
  const input = new Uint8Array([...new Uint8Array(v).fill(id), ...repeat(salt), ...repeat(bmp)]);
  let digest = sha256(input);
  for (let i = 1; i < iterations; i++) digest = sha256(digest);
  return digest;
}
