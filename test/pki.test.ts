/**
 * The certificate building blocks of the admin console (src/pki/, issue 17), inside workerd:
 * creating and importing CAs, issuing client certificates from a generated key or a CSR, the
 * subject DN a tls_client_auth client registers, PKCS#12 files, and the stored CA record.
 * test/node/pki-openssl.test.ts checks the same output with OpenSSL and Node's TLS.
 */
import { env } from "cloudflare:workers";
import * as asn1js from "asn1js";
import { beforeAll, describe, expect, it } from "vitest";
import { keyIsRegistered, matchesRegisteredIdentity } from "../src/mtls/certificate-match";
import { parseCertificate } from "../src/mtls/der";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  importCertificateAuthority,
  type NewCertificateAuthority,
} from "../src/pki/certificate-authority";
import { issueClientCertificate } from "../src/pki/client-certificate";
import { parseDistinguishedName } from "../src/pki/distinguished-name";
import { PkiInputError, StoredPkiRecordError } from "../src/pki/errors";
import { exportDer, importPrivateKey, provesPossession } from "../src/pki/keys";
import { fromPem, toPem } from "../src/pki/pem";
import { buildPkcs12, generatePkcs12Password } from "../src/pki/pkcs12";
import {
  clientCertificateRecord,
  newPkiId,
  openCertificateAuthority,
  parsePublicJwk,
  parseStoredCertificateAuthority,
  parseStoredClientCertificate,
  sealCertificateAuthority,
} from "../src/pki/store";
import { x509 } from "../src/pki/x509";

const year = { days: 365 };

/** Expects a PkiInputError for `field` whose message matches. */
async function refused(promise: Promise<unknown>, field: string, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PkiInputError);
  expect(error).toMatchObject({ field });
  expect((error as PkiInputError).message).toMatch(message);
}

function refusedSync(run: () => unknown, field: string, message: RegExp) {
  return refused(Promise.resolve().then(run), field, message);
}

let ca: NewCertificateAuthority;

beforeAll(async () => {
  ca = await createCertificateAuthority({
    subject: "CN=edge-op client CA,O=Example Bank,C=GB",
    keyAlgorithm: "P-256",
    validity: { days: 3650 },
  });
});

describe("creating a CA (RFC 5280 §4.2.1.9, §4.2.1.3)", () => {
  for (const keyAlgorithm of ["P-256", "P-384", "RSA-2048", "RSA-3072"] as const) {
    it(`a ${keyAlgorithm} CA is self-signed, Basic Constraints CA:TRUE pathLen 0 and Key Usage keyCertSign|cRLSign, both critical`, async () => {
      const created = await createCertificateAuthority({
        subject: "CN=Devices CA,O=Example Bank,C=GB",
        keyAlgorithm,
        validity: { days: 30 },
      });
      const cert = created.certificate;
      expect(await cert.verify({ publicKey: cert.publicKey, signatureOnly: true })).toBe(true);
      expect(created.subjectDn).toBe("CN=Devices CA,O=Example Bank,C=GB");
      expect((await parseCertificate(created.der)).issuerDn).toBe(created.subjectDn);
      const constraints = cert.getExtension(x509.BasicConstraintsExtension);
      expect(constraints).toMatchObject({ ca: true, pathLength: 0, critical: true });
      const usage = cert.getExtension(x509.KeyUsagesExtension);
      expect(usage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
      expect(usage?.critical).toBe(true);
      expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)).not.toBeNull();
      expect(created.keyAlgorithm).toBe(keyAlgorithm);
      expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(30 * 86_400_000);
      // The PKCS#8 handed to the store is this CA's key.
      const key = await importPrivateKey(created.privateKeyPkcs8, keyAlgorithm, false);
      expect(await provesPossession(key, await cert.publicKey.export(), keyAlgorithm)).toBe(true);
    });
  }

  it("the subject comes from the input and must be a valid DN", async () => {
    await refused(
      createCertificateAuthority({ subject: "O=Example Bank", keyAlgorithm: "P-256", validity: year }),
      "subject",
      /needs a CN/,
    );
    await refused(
      // @ts-expect-error an algorithm the console does not offer
      createCertificateAuthority({ subject: "CN=x", keyAlgorithm: "RSA-1024", validity: year }),
      "key_algorithm",
      /choose one of/,
    );
  });
});

describe("importing a CA", () => {
  const pems = (authority: NewCertificateAuthority) => ({
    certificatePem: authority.pem,
    privateKeyPem: toPem("PRIVATE KEY", authority.privateKeyPkcs8),
  });

  it("a PEM certificate with its PKCS#8 key is accepted and can issue", async () => {
    const imported = await importCertificateAuthority(pems(ca));
    expect(imported.subjectDn).toBe(ca.subjectDn);
    expect(imported.keyAlgorithm).toBe("P-256");
    const issued = await issueClientCertificate({
      authority: imported,
      subject: "CN=client",
      validity: year,
      key: { generate: "P-256" },
    });
    expect(await new x509.X509Certificate(issued.der).verify({ publicKey: ca.certificate.publicKey })).toBe(true);
  });

  it("a private key of another key pair of the same type is refused: the two must match", async () => {
    const other = await createCertificateAuthority({ subject: "CN=other", keyAlgorithm: "P-256", validity: year });
    await refused(
      importCertificateAuthority({ certificatePem: ca.pem, privateKeyPem: pems(other).privateKeyPem }),
      "private_key",
      /does not belong to the certificate/,
    );
  });

  it("a private key of another type (RSA for an EC certificate) is refused", async () => {
    const rsa = await createCertificateAuthority({ subject: "CN=rsa", keyAlgorithm: "RSA-2048", validity: year });
    await refused(
      importCertificateAuthority({ certificatePem: ca.pem, privateKeyPem: pems(rsa).privateKeyPem }),
      "private_key",
      /not a PKCS#8 P-256 key/,
    );
  });

  it("RFC 5280 §4.2.1.9: a certificate without Basic Constraints CA:TRUE is not a CA", async () => {
    const leaf = await issueClientCertificate({
      authority: ca,
      subject: "CN=leaf",
      validity: year,
      key: { generate: "P-256" },
    });
    await refused(
      importCertificateAuthority({ certificatePem: leaf.pem, privateKeyPem: leaf.privateKeyPem ?? "" }),
      "certificate",
      /not a CA certificate/,
    );
  });

  it("RFC 5280 §4.2.1.3: a CA whose Key Usage lacks keyCertSign cannot issue", async () => {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=odd CA",
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    });
    await refused(
      importCertificateAuthority({
        certificatePem: cert.toString("pem"),
        privateKeyPem: toPem("PRIVATE KEY", await exportDer(keys.privateKey, "pkcs8")),
      }),
      "certificate",
      /keyCertSign/,
    );
  });

  it("a CA whose validity starts this instant (as OpenSSL's do) issues at once: the default start is not before the CA's", async () => {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=fresh CA",
      keys,
      notBefore: now,
      notAfter: new Date(now.getTime() + 30 * 86_400_000),
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const fresh = await importCertificateAuthority({
      certificatePem: cert.toString("pem"),
      privateKeyPem: toPem("PRIVATE KEY", await exportDer(keys.privateKey, "pkcs8")),
    });
    const issued = await issueClientCertificate({
      authority: fresh,
      subject: "CN=client",
      validity: { days: 7 },
      key: { generate: "P-256" },
      now,
    });
    expect(issued.notBefore).toEqual(now);
  });

  it("an expired CA is refused", async () => {
    await refused(
      importCertificateAuthority({ ...pems(ca), now: new Date(Date.now() + 3651 * 86_400_000) }),
      "certificate",
      /expired/,
    );
  });

  it("text that is not a PEM certificate, and keys in other formats, are refused with a hint", async () => {
    await refused(
      importCertificateAuthority({ certificatePem: "hello", privateKeyPem: pems(ca).privateKeyPem }),
      "certificate",
      /exactly one PEM certificate/,
    );
    await refused(
      importCertificateAuthority({
        certificatePem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        privateKeyPem: pems(ca).privateKeyPem,
      }),
      "certificate",
      /not an X\.509 certificate/,
    );
    await refused(
      importCertificateAuthority({
        certificatePem: ca.pem,
        privateKeyPem: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
      }),
      "private_key",
      /openssl pkcs8 -topk8 -nocrypt/,
    );
    await refused(
      importCertificateAuthority({ certificatePem: ca.pem + ca.pem, privateKeyPem: pems(ca).privateKeyPem }),
      "certificate",
      /exactly one/,
    );
  });
});

describe("issuing a client certificate (RFC 8705 §2.1, RFC 5280 §4.2)", () => {
  it("CN=client: clientAuth EKU, digitalSignature, CA:FALSE, issued by and chaining to the CA", async () => {
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=client",
      validity: year,
      key: { generate: "P-256" },
    });
    const cert = new x509.X509Certificate(issued.der);
    expect(await cert.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true })).toBe(true);
    expect(cert.issuerName.toArrayBuffer()).toEqual(ca.certificate.subjectName.toArrayBuffer());
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    expect(usage).toMatchObject({ usages: x509.KeyUsageFlags.digitalSignature, critical: true });
    expect(cert.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: false, critical: true });
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    expect(aki).toBe(ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(365 * 86_400_000);
    expect(issued.keySource).toBe("generated");
  });

  it("RFC 5280 §4.1.2.2: serial numbers are positive, 16 octets, and differ between certificates", async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const issued = await issueClientCertificate({
        authority: ca,
        subject: "CN=client",
        validity: year,
        key: { generate: "P-256" },
      });
      expect(issued.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(issued.serialNumber.startsWith("00")).toBe(false);
      expect(new x509.X509Certificate(issued.der).serialNumber).toBe(issued.serialNumber);
      serials.add(issued.serialNumber);
    }
    expect(serials.size).toBe(5);
  });

  it("RFC 8705 §2.1.2: the registration's subject DN is what edge-op's matcher reads from the certificate", async () => {
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=kiosk-9, OU=Branch Devices, O=Example Bank, C=GB",
      validity: year,
      key: { generate: "P-256" },
    });
    const dn = issued.registration.tls_client_auth_subject_dn;
    expect(dn).toBe("CN=kiosk-9,OU=Branch Devices,O=Example Bank,C=GB");
    const presented = await parseCertificate(issued.der);
    expect(matchesRegisteredIdentity(presented, { tls_client_auth_subject_dn: dn })).toBe(true);
    expect(matchesRegisteredIdentity(presented, { tls_client_auth_subject_dn: "CN=kiosk-9,O=Example Bank,C=GB" })).toBe(
      false,
    );
    // Written in ASN.1 order, most general first, as OpenSSL's -subj "/C=GB/O=…/CN=…" does.
    expect(new x509.X509Certificate(issued.der).subjectName.toJSON().map((rdn) => Object.keys(rdn)[0])).toEqual([
      "C",
      "O",
      "OU",
      "CN",
    ]);
  });

  it("RFC 4514 escapes survive the round trip, and C is a PrintableString (RFC 5280 §4.1.2.6)", async () => {
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=Smith\\, John \\+ Co,O=R\\c3\\a9seau,C=FR",
      validity: year,
      key: { generate: "P-256" },
    });
    expect(issued.registration.tls_client_auth_subject_dn).toBe("CN=Smith\\, John \\+ Co,O=Réseau,C=FR");
    const printableC = [0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x46, 0x52];
    expect(Buffer.from(issued.der).includes(Buffer.from(printableC))).toBe(true);
  });

  it("RFC 8705 §2.2 and §3.1: the JWK is the certificate's public key and x5t#S256 its SHA-256", async () => {
    for (const generate of ["P-256", "P-384", "RSA-2048"] as const) {
      const issued = await issueClientCertificate({
        authority: ca,
        subject: "CN=till-3",
        validity: year,
        key: { generate },
      });
      const presented = await parseCertificate(issued.der);
      expect(await keyIsRegistered(presented, [issued.registration.jwk])).toBe(true);
      expect(Object.keys(issued.registration.jwk).sort()).toEqual(
        generate === "RSA-2048" ? ["e", "kty", "n"] : ["crv", "kty", "x", "y"],
      );
      expect(issued.registration["x5t#S256"]).toBe(presented.x5tS256);
      expect(issued.keyAlgorithm).toBe(generate);
      // The private key handed out is the certificate's.
      const pkcs8 = fromPem(issued.privateKeyPem ?? "", ["PRIVATE KEY"], "private_key", "key");
      const key = await importPrivateKey(pkcs8, generate, false);
      const certKey = await new x509.X509Certificate(issued.der).publicKey.export();
      expect(await provesPossession(key, certKey, generate)).toBe(true);
    }
  });

  it("validity: days or dates, never beyond the CA, never already over", async () => {
    const notBefore = new Date(Date.now() + 86_400_000);
    const notAfter = new Date(Date.now() + 10 * 86_400_000);
    const dated = await issueClientCertificate({
      authority: ca,
      subject: "CN=client",
      validity: { notBefore, notAfter },
      key: { generate: "P-256" },
    });
    expect(dated.notBefore.getTime()).toBe(Math.floor(notBefore.getTime() / 1000) * 1000);
    expect(new x509.X509Certificate(dated.der).notAfter.getTime()).toBe(Math.floor(notAfter.getTime() / 1000) * 1000);

    const issue = (validity: Parameters<typeof issueClientCertificate>[0]["validity"]) =>
      issueClientCertificate({ authority: ca, subject: "CN=client", validity, key: { generate: "P-256" } });
    // Explicit dates: `days: 3650` from a CA made in the same clock second would end with it, not after.
    const pastTheCa = new Date(ca.certificate.notAfter.getTime() + 86_400_000);
    await refused(issue({ notBefore, notAfter: pastTheCa }), "validity", /outlive its CA/);
    await refused(issue({ days: 0 }), "validity", /whole number of days/);
    await refused(issue({ days: 1.5 }), "validity", /whole number of days/);
    await refused(issue({ days: 3, notAfter }), "validity", /either a number of days or an end date/);
    await refused(issue({}), "validity", /either/);
    await refused(issue({ notAfter: new Date(Date.now() - 3_600_000) }), "validity", /in the past/);
    await refused(issue({ notBefore: notAfter, notAfter: notBefore }), "validity", /after the start/);
    await refused(issue({ notAfter: new Date("not a date") }), "validity", /not valid dates/);
  });
});

describe("issuing from a PKCS#10 CSR (RFC 2986)", () => {
  async function csrFor(
    subject: string,
    algorithm: { name: string; namedCurve?: string; hash?: string } = {
      name: "ECDSA",
      namedCurve: "P-256",
    },
  ) {
    const params =
      algorithm.name === "ECDSA"
        ? { name: "ECDSA", namedCurve: algorithm.namedCurve }
        : algorithm.name === "Ed25519"
          ? { name: "Ed25519" }
          : { name: algorithm.name, hash: "SHA-256", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
    const keys = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: subject,
      keys,
      signingAlgorithm: algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : { name: algorithm.name },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    return { pem: csr.toString("pem"), keys, der: new Uint8Array(csr.rawData) };
  }

  it("the certificate certifies the CSR's key, with the subject from the form and not the CSR's", async () => {
    const csr = await csrFor("CN=admin, O=Somebody Else");
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=client",
      validity: year,
      key: { csr: csr.pem },
    });
    expect(issued.registration.tls_client_auth_subject_dn).toBe("CN=client");
    expect(issued.keySource).toBe("csr");
    expect(issued.privateKeyPem).toBeUndefined();
    expect(issued.privateKeyPkcs8).toBeUndefined();
    const cert = new x509.X509Certificate(issued.der);
    expect(new Uint8Array(cert.publicKey.rawData)).toEqual(await exportDer(csr.keys.publicKey, "spki"));
    // Requested extensions are not copied: the CSR asked for CA:TRUE.
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
  });

  it("RSA CSRs are accepted too", async () => {
    const csr = await csrFor("CN=rsa", { name: "RSASSA-PKCS1-v1_5" });
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=rsa",
      validity: year,
      key: { csr: csr.pem },
    });
    expect(issued.keyAlgorithm).toBe("RSA-2048");
  });

  it("RFC 2986 §3: a CSR whose signature does not verify with its own key is refused", async () => {
    const csr = await csrFor("CN=client");
    const tampered = new Uint8Array(csr.der);
    // Flip a bit in the subject (covered by the signature), not in the structure.
    const at = Buffer.from(tampered).indexOf(Buffer.from("client"));
    tampered[at] = (tampered[at] ?? 0) ^ 0x01;
    await refused(
      issueClientCertificate({
        authority: ca,
        subject: "CN=client",
        validity: year,
        key: { csr: toPem("CERTIFICATE REQUEST", tampered) },
      }),
      "csr",
      /signature does not verify/,
    );
  });

  it("keys of other types (Ed25519), other PEM blocks and garbage are refused as the CSR field's error", async () => {
    const ed = await csrFor("CN=ed", { name: "Ed25519" });
    const issue = (csr: string) =>
      issueClientCertificate({ authority: ca, subject: "CN=client", validity: year, key: { csr } });
    await refused(issue(ed.pem), "csr", /ECDSA P-256 or P-384, or RSA/);
    await refused(issue(ca.pem), "csr", /expected a PEM "CERTIFICATE REQUEST", got "CERTIFICATE"/);
    await refused(issue(toPem("CERTIFICATE REQUEST", new Uint8Array([0x30, 0x03, 1, 2, 3]))), "csr", /not a PKCS#10/);
    await refused(issue(`${"A".repeat(20_000)}`), "csr", /too long/);
  });
});

describe("subject DNs typed in the form (RFC 4514)", () => {
  it("attribute names are case-insensitive, spaces around separators do not count", () => {
    const dn = parseDistinguishedName(" cn = client , o=Example Bank,c=GB ");
    expect(dn.attributes.map((a) => [a.name, a.value])).toEqual([
      ["CN", "client"],
      ["O", "Example Bank"],
      ["C", "GB"],
    ]);
  });

  it("bad DNs are refused beside the subject field", async () => {
    const cases: [string, RegExp][] = [
      ["", /not an attribute=value pair/],
      ["CN=", /empty/],
      ["client", /not an attribute=value pair/],
      ["CN=client,XX=1", /unknown attribute "XX"/],
      ["CN=client,C=Great Britain", /two-letter country code/],
      ["CN=client,C=gb", /two-letter country code/],
      ["CN=a+OU=b", /multi-valued RDNs/],
      [`CN=${"x".repeat(65)}`, /longer than 64/],
      ["CN=tab\there", /control character/],
      ["CN=a;b", /must be escaped/],
      ["CN=a\\", /escapes nothing/],
      ["CN=a\\q", /escapes nothing/],
      ["CN=\\FF", /not UTF-8/],
      ["CN=#0403616263", /#hex/],
      ["O=Example Bank", /needs a CN/],
      ["CN=x,emailAddress=é@example.com", /must be ASCII/],
      ["CN=x,serialNumber=a_b", /may only hold/],
      [`CN=x${",OU=y".repeat(16)}`, /too many attributes/],
    ];
    return Promise.all(
      cases.map(([text, message]) => refusedSync(() => parseDistinguishedName(text), "subject", message)),
    );
  });
});

describe("PKCS#12 (RFC 7292) as OpenSSL 3 writes it", () => {
  let issued: Awaited<ReturnType<typeof issueClientCertificate>>;
  const password = "correct horse battery";

  beforeAll(async () => {
    issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=client",
      validity: year,
      key: { generate: "P-256" },
    });
  });

  function read(der: Uint8Array): asn1js.Sequence {
    const parsed = asn1js.fromBER(der);
    expect(parsed.offset).toBe(der.length);
    return parsed.result as asn1js.Sequence;
  }
  const seq = (node: unknown) => (node as asn1js.Sequence).valueBlock.value;
  const oid = (node: unknown) => (node as asn1js.ObjectIdentifier).valueBlock.toString();
  const octets = (node: unknown) => new Uint8Array((node as asn1js.OctetString).valueBlock.valueHexView);
  /** The content of `[0] EXPLICIT` (ContentInfo, SafeBag). */
  const explicit = (node: unknown) => seq(node)[0];

  /** Decrypts a PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) ciphertext, checking the algorithm identifiers on the way. */
  async function pbes2Decrypt(algorithm: unknown, ciphertext: Uint8Array, pass: string) {
    const [id, params] = seq(algorithm);
    expect(oid(id)).toBe("1.2.840.113549.1.5.13");
    const [kdf, scheme] = seq(params);
    const [kdfId, kdfParams] = seq(kdf);
    expect(oid(kdfId)).toBe("1.2.840.113549.1.5.12");
    const [salt, count, prf] = seq(kdfParams);
    expect((count as asn1js.Integer).valueBlock.valueDec).toBe(2048);
    expect(oid(seq(prf)[0])).toBe("1.2.840.113549.2.9");
    const [schemeId, iv] = seq(scheme);
    expect(oid(schemeId)).toBe("2.16.840.1.101.3.4.1.42");
    const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(pass), "PBKDF2", false, ["deriveKey"]);
    const key = await crypto.subtle.deriveKey(
      { name: "PBKDF2", salt: octets(salt), iterations: 2048, hash: "SHA-256" },
      base,
      { name: "AES-CBC", length: 256 },
      false,
      ["decrypt"],
    );
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: octets(iv) }, key, ciphertext));
  }

  it("PBES2/AES-256-CBC key and certificate bags, a SHA-256 MAC, localKeyId pairing, the CA included", async () => {
    const pfx = await buildPkcs12({
      certificate: issued.der,
      privateKey: issued.privateKeyPkcs8 ?? new Uint8Array(),
      chain: [ca.der],
      password,
      friendlyName: "CN=client",
    });
    const [version, authSafe, macData] = seq(read(pfx));
    expect((version as asn1js.Integer).valueBlock.valueDec).toBe(3);
    expect(oid(seq(seq(seq(macData)[0])[0])[0])).toBe("2.16.840.1.101.3.4.2.1");
    expect((seq(macData)[2] as asn1js.Integer).valueBlock.valueDec).toBe(2048);

    const [authSafeType, authSafeContent] = seq(authSafe);
    expect(oid(authSafeType)).toBe("1.2.840.113549.1.7.1");
    const [certsInfo, keysInfo] = seq(read(octets(explicit(authSafeContent))));

    // The certificates: EncryptedData with PBES2.
    expect(oid(seq(certsInfo)[0])).toBe("1.2.840.113549.1.7.6");
    const [, encryptedContentInfo] = seq(explicit(seq(certsInfo)[1]));
    const [, algorithm, ciphertext] = seq(encryptedContentInfo);
    const certBags = seq(read(await pbes2Decrypt(algorithm, octets(ciphertext), password)));
    const certOf = (bag: unknown) => octets(explicit(seq(explicit(seq(bag)[1]))[1]));
    expect(certBags.map(certOf)).toEqual([issued.der, ca.der]);

    // The key: a pkcs8ShroudedKeyBag in plain Data.
    expect(oid(seq(keysInfo)[0])).toBe("1.2.840.113549.1.7.1");
    const [keyBag] = seq(read(octets(explicit(seq(keysInfo)[1]))));
    expect(oid(seq(keyBag)[0])).toBe("1.2.840.113549.1.12.10.1.2");
    const [keyAlgorithm, encryptedKey] = seq(explicit(seq(keyBag)[1]));
    expect(await pbes2Decrypt(keyAlgorithm, octets(encryptedKey), password)).toEqual(issued.privateKeyPkcs8);

    // The leaf and the key carry the same localKeyId, SHA-1 of the certificate, as OpenSSL writes.
    const localKeyId = (bag: unknown) => {
      const attributes = seq(bag)[2] as asn1js.Set;
      const attribute = attributes.valueBlock.value.find((a) => oid(seq(a)[0]) === "1.2.840.113549.1.9.21");
      return octets(seq(seq(attribute)[1])[0]);
    };
    const sha1 = new Uint8Array(await crypto.subtle.digest("SHA-1", issued.der));
    expect(localKeyId(certBags[0])).toEqual(sha1);
    expect(localKeyId(keyBag)).toEqual(sha1);
  });

  it("a wrong password does not decrypt the key", async () => {
    const pfx = await buildPkcs12({
      certificate: issued.der,
      privateKey: issued.privateKeyPkcs8 ?? new Uint8Array(),
      password,
    });
    const [, authSafe] = seq(read(pfx));
    const [, keysInfo] = seq(read(octets(explicit(seq(authSafe)[1]))));
    const [keyBag] = seq(read(octets(explicit(seq(keysInfo)[1]))));
    const [keyAlgorithm, encryptedKey] = seq(explicit(seq(keyBag)[1]));
    await expect(pbes2Decrypt(keyAlgorithm, octets(encryptedKey), "wrong password")).rejects.toThrow();
  });

  it("passwords: 8 to 128 printable ASCII characters; the generated one is 24 characters", async () => {
    const build = (pass: string) =>
      buildPkcs12({ certificate: issued.der, privateKey: issued.privateKeyPkcs8 ?? new Uint8Array(), password: pass });
    await refused(build("short"), "password", /8 to 128/);
    await refused(build("pässword-long"), "password", /printable ASCII/);
    const generated = generatePkcs12Password();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePkcs12Password()).not.toBe(generated);
    expect((await build(generated)).length).toBeGreaterThan(issued.der.length);
  });
});

describe("the stored CA record", () => {
  const secret = () => env.DATA_ENCRYPTION_KEY;
  const record = { name: "Branch devices", origin: "created" as const, createdAt: new Date() };

  it("the key is stored only encrypted, and a parsed row opens to a CA that issues", async () => {
    const id = newPkiId();
    const stored = await sealCertificateAuthority(secret(), { id, ...record }, ca);
    expect(stored.private_key_encrypted).toMatch(/^v1\./);
    const pkcs8Text = Buffer.from(ca.privateKeyPkcs8).toString("base64url");
    expect(JSON.stringify(stored)).not.toContain(pkcs8Text);

    // As a D1 row would come back: a plain object, parsed field by field.
    const row: unknown = JSON.parse(JSON.stringify(stored));
    const opened: CertificateAuthority = await openCertificateAuthority(secret(), parseStoredCertificateAuthority(row));
    expect(opened.signingKey.extractable).toBe(false);
    const issued = await issueClientCertificate({
      authority: opened,
      subject: "CN=client",
      validity: year,
      key: { generate: "P-256" },
    });
    expect(await new x509.X509Certificate(issued.der).verify({ publicKey: ca.certificate.publicKey })).toBe(true);
  });

  it("the key does not open under another DATA_ENCRYPTION_KEY, another row id, or another certificate", async () => {
    const id = newPkiId();
    const stored = await sealCertificateAuthority(secret(), { id, ...record }, ca);
    const otherSecret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    await expect(openCertificateAuthority(otherSecret, stored)).rejects.toBeInstanceOf(StoredPkiRecordError);
    await expect(openCertificateAuthority(secret(), { ...stored, id: newPkiId() })).rejects.toBeInstanceOf(
      StoredPkiRecordError,
    );
    const other = await createCertificateAuthority({ subject: "CN=other", keyAlgorithm: "P-256", validity: year });
    await expect(openCertificateAuthority(secret(), { ...stored, certificate_pem: other.pem })).rejects.toBeInstanceOf(
      StoredPkiRecordError,
    );
  });

  it("rows of the wrong shape are refused, not cast", async () => {
    const stored = await sealCertificateAuthority(secret(), { id: newPkiId(), ...record }, ca);
    const bad: Record<string, unknown>[] = [
      { ...stored, id: 7 },
      { ...stored, private_key_encrypted: Buffer.from(ca.privateKeyPkcs8).toString("base64url") },
      { ...stored, key_algorithm: "DSA-1024" },
      { ...stored, origin: "found" },
      { ...stored, not_after: "tomorrow" },
      { ...stored, retired_at: -1 },
      { ...stored, name: undefined },
    ];
    for (const row of bad) expect(() => parseStoredCertificateAuthority(row)).toThrow(StoredPkiRecordError);
    expect(() => parseStoredCertificateAuthority(null)).toThrow(StoredPkiRecordError);
    expect(parseStoredCertificateAuthority({ ...stored, retired_at: 1_700_000_000 }).retired_at).toBe(1_700_000_000);
  });

  it("an issued certificate's record keeps what attaching and revoking need, and no private key", async () => {
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=client",
      validity: year,
      key: { generate: "P-256" },
    });
    const stored = clientCertificateRecord({ id: newPkiId(), caId: newPkiId(), createdAt: new Date() }, issued);
    const row = parseStoredClientCertificate(JSON.parse(JSON.stringify(stored)));
    expect(row).toMatchObject({
      subject_dn: "CN=client",
      serial_number: issued.serialNumber,
      x5t_s256: issued.registration["x5t#S256"],
      key_source: "generated",
      client_id: null,
      revoked_at: null,
    });
    expect(parsePublicJwk(row.public_jwk)).toEqual(issued.registration.jwk);
    expect(JSON.stringify(row)).not.toMatch(/PRIVATE KEY|"d":/);
    expect(() => parseStoredClientCertificate({ ...stored, serial_number: "xyz" })).toThrow(StoredPkiRecordError);
    expect(() => parseStoredClientCertificate({ ...stored, public_jwk: '{"kty":"oct","k":"x"}' })).toThrow(
      StoredPkiRecordError,
    );
    expect(() => parseStoredClientCertificate({ ...stored, key_source: "uploaded" })).toThrow(StoredPkiRecordError);
  });
});
