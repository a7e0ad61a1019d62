/**
 * src/pki/'s output as other software reads it (issue 17): OpenSSL verifies the chains, prints
 * the subjects and opens the .pfx files; Node loads a .pfx and authenticates a real TLS
 * connection on loopback with it; CAs, keys and CSRs made by OpenSSL go in. Runs in Node (the
 * "node" project of vitest.config.ts), because workerd cannot run `openssl`; src/pki/ uses only
 * Web Crypto, which Node provides as well. test/pki.test.ts covers the same code in workerd.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  importCertificateAuthority,
  type NewCertificateAuthority,
} from "../../src/pki/certificate-authority";
import { type IssuedClientCertificate, issueClientCertificate } from "../../src/pki/client-certificate";
import { PkiInputError } from "../../src/pki/errors";
import { buildPkcs12, generatePkcs12Password } from "../../src/pki/pkcs12";

const dir = mkdtempSync(join(tmpdir(), "edge-op-pki-"));
const file = (name: string, content?: string | Uint8Array) => {
  const path = join(dir, name);
  if (content !== undefined) writeFileSync(path, content);
  return path;
};

function openssl(args: string[]) {
  const run = spawnSync("openssl", args, { encoding: "utf8", cwd: dir });
  if (run.error) throw run.error;
  return { status: run.status, out: `${run.stdout}${run.stderr}`, stdout: run.stdout };
}

function opensslOk(args: string[]): string {
  const run = openssl(args);
  expect(run.status, `openssl ${args.join(" ")}\n${run.out}`).toBe(0);
  return run.stdout;
}

/** A minimal OpenSSL config, so `req` adds exactly the extensions we ask for and no defaults. */
const REQ_CONFIG = file(
  "req.cnf",
  [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    "CN = placeholder",
    "[ca]",
    "basicConstraints = critical,CA:TRUE",
    "keyUsage = critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier = hash",
    "[server]",
    "subjectAltName = IP:127.0.0.1",
    "extendedKeyUsage = serverAuth",
    "",
  ].join("\n"),
);

const year = { days: 365 };
let ca: NewCertificateAuthority;
let client: IssuedClientCertificate;

beforeAll(async () => {
  ca = await createCertificateAuthority({
    subject: "CN=edge-op client CA,O=Example Bank,C=GB",
    keyAlgorithm: "P-256",
    validity: { days: 3650 },
  });
  client = await issueClientCertificate({
    authority: ca,
    subject: "CN=client",
    validity: year,
    key: { generate: "P-256" },
  });
  file("ca.pem", ca.pem);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("openssl reads what src/pki/ issues", () => {
  for (const [caAlgorithm, clientAlgorithm] of [
    ["P-256", "P-256"],
    ["P-384", "RSA-2048"],
    ["RSA-2048", "P-256"],
  ] as const) {
    it(`a ${clientAlgorithm} client certificate from a ${caAlgorithm} CA: openssl verify -purpose sslclient says OK`, async () => {
      const authority = await createCertificateAuthority({
        subject: `CN=${caAlgorithm} CA`,
        keyAlgorithm: caAlgorithm,
        validity: year,
      });
      const issued = await issueClientCertificate({
        authority,
        subject: "CN=kiosk-9,OU=Branch Devices,O=Example Bank,C=GB",
        validity: { days: 30 },
        key: { generate: clientAlgorithm },
      });
      const caFile = file(`ca-${caAlgorithm}.pem`, authority.pem);
      const leaf = file(`leaf-${caAlgorithm}-${clientAlgorithm}.pem`, issued.pem);
      expect(opensslOk(["verify", "-CAfile", caFile, "-purpose", "sslclient", leaf])).toBe(`${leaf}: OK\n`);
      // The DN a tls_client_auth client registers is the one the docs tell operators to read with OpenSSL.
      expect(opensslOk(["x509", "-in", leaf, "-noout", "-subject", "-nameopt", "RFC2253"]).trim()).toBe(
        `subject=${issued.registration.tls_client_auth_subject_dn}`,
      );
      const text = opensslOk(["x509", "-in", leaf, "-noout", "-text"]);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
      expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/);
      expect(text).toContain("X509v3 Authority Key Identifier");
    });
  }

  it("the CA: openssl sees a critical CA:TRUE, pathlen 0, and Certificate Sign, CRL Sign", () => {
    const text = opensslOk(["x509", "-in", file("ca.pem"), "-noout", "-text"]);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(opensslOk(["verify", "-CAfile", file("ca.pem"), file("ca.pem")])).toContain(": OK");
  });

  it("a certificate from another CA does not verify against this one", async () => {
    const stranger = await createCertificateAuthority({
      subject: "CN=stranger",
      keyAlgorithm: "P-256",
      validity: year,
    });
    const issued = await issueClientCertificate({
      authority: stranger,
      subject: "CN=client",
      validity: year,
      key: { generate: "P-256" },
    });
    const run = openssl(["verify", "-CAfile", file("ca.pem"), file("stranger-leaf.pem", issued.pem)]);
    expect(run.status).not.toBe(0);
    expect(run.out).toMatch(/unable to get local issuer certificate/);
  });
});

describe("PKCS#12: openssl pkcs12 and Node's TLS load the .pfx", () => {
  let pfxPath = "";
  const password = generatePkcs12Password();

  beforeAll(async () => {
    const pfx = await buildPkcs12({
      certificate: client.der,
      privateKey: client.privateKeyPkcs8 ?? new Uint8Array(),
      chain: [ca.der],
      password,
      friendlyName: "CN=client",
    });
    pfxPath = file("client.pfx", pfx);
  });

  it("openssl pkcs12 -info: MAC sha256 verified, PBES2 PBKDF2 hmacWithSHA256 AES-256-CBC for certificates and key", () => {
    const run = openssl(["pkcs12", "-in", pfxPath, "-info", "-passin", `pass:${password}`, "-nodes"]);
    expect(run.status, run.out).toBe(0);
    expect(run.out).toContain("MAC: sha256, Iteration 2048");
    expect(run.out).toContain("PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256");
    expect(run.out).toContain("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256");
    expect(run.out).toContain("friendlyName: CN=client");
    // The key and the leaf carry the same localKeyID; the CA comes along without one.
    const ids = [...run.out.matchAll(/localKeyID: ([0-9A-F ]+)/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(run.out.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
  });

  it("the key inside is the certificate's key, and the leaf is the issued certificate", () => {
    const keyPem = opensslOk(["pkcs12", "-in", pfxPath, "-passin", `pass:${password}`, "-nocerts", "-nodes"]);
    const fromKey = opensslOk(["pkey", "-in", file("pfx-key.pem", keyPem), "-pubout"]);
    const fromCert = opensslOk(["x509", "-in", file("client.pem", client.pem), "-noout", "-pubkey"]);
    expect(fromKey).toBe(fromCert);
    const leafPem = opensslOk(["pkcs12", "-in", pfxPath, "-passin", `pass:${password}`, "-clcerts", "-nokeys"]);
    const fingerprint = (pem: string, name: string) =>
      opensslOk(["x509", "-in", file(name, pem), "-noout", "-fingerprint", "-sha256"]);
    expect(fingerprint(leafPem, "pfx-leaf.pem")).toBe(fingerprint(client.pem, "client-2.pem"));
  });

  it("a wrong password fails the MAC check", () => {
    const run = openssl(["pkcs12", "-in", pfxPath, "-info", "-passin", "pass:wrong-password", "-nodes"]);
    expect(run.status).not.toBe(0);
    expect(run.out).toMatch(/Mac verify error/i);
  });

  it("Node presents the .pfx in a TLS handshake and a server that trusts the CA accepts it as CN=client", async () => {
    const serverKey = file("server.key");
    const serverCert = file("server.pem");
    opensslOk(
      ["req", "-x509", "-config", REQ_CONFIG, "-extensions", "server", "-newkey", "ec"]
        .concat(["-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", serverKey, "-out", serverCert])
        .concat(["-subj", "/CN=127.0.0.1", "-days", "1"]),
    );
    const seen: { authorized: boolean; cn: unknown }[] = [];
    const server = tls.createServer(
      {
        key: readFileSync(serverKey),
        cert: readFileSync(serverCert),
        requestCert: true,
        rejectUnauthorized: true,
        ca: [ca.pem],
      },
      (socket) => {
        seen.push({ authorized: socket.authorized, cn: socket.getPeerCertificate().subject?.CN });
        socket.end("hello");
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({
          host: "127.0.0.1",
          port,
          ca: readFileSync(serverCert),
          pfx: readFileSync(pfxPath),
          passphrase: password,
        });
        let data = "";
        socket.on("data", (chunk) => {
          data += chunk;
        });
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
      });
      expect(reply).toBe("hello");
      expect(seen).toEqual([{ authorized: true, cn: "client" }]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("Node refuses the .pfx with a wrong passphrase", () => {
    expect(() => tls.createSecureContext({ pfx: readFileSync(pfxPath), passphrase: "not the password" })).toThrow(
      /mac verify failure|bad decrypt/i,
    );
    expect(() => tls.createSecureContext({ pfx: readFileSync(pfxPath), passphrase: password })).not.toThrow();
  });
});

describe("what OpenSSL made goes in", () => {
  function opensslCa(name: string, keyArgs: string[]) {
    const key = file(`${name}.key`);
    opensslOk(["genpkey", ...keyArgs, "-out", key]);
    const cert = file(`${name}.pem`);
    opensslOk(
      ["req", "-x509", "-config", REQ_CONFIG, "-extensions", "ca", "-key", key, "-out", cert].concat([
        "-subj",
        `/C=GB/O=Example Bank/CN=${name}`,
        "-days",
        "30",
      ]),
    );
    return { certificatePem: readFileSync(cert, "utf8"), privateKeyPem: readFileSync(key, "utf8"), cert };
  }

  for (const [name, keyArgs] of [
    ["EC root", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]],
    ["RSA root", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]],
  ] as const) {
    it(`an OpenSSL ${name} (PEM + PKCS#8 from genpkey) imports, and what it issues verifies against the original`, async () => {
      const made = opensslCa(name.replace(" ", "-"), [...keyArgs]);
      const imported = await importCertificateAuthority(made);
      expect(imported.subjectDn).toBe(`CN=${name.replace(" ", "-")},O=Example Bank,C=GB`);
      const issued = await issueClientCertificate({
        authority: imported,
        subject: "CN=client",
        validity: { days: 7 },
        key: { generate: "P-256" },
      });
      const leaf = file(`leaf-of-${name.replace(" ", "-")}.pem`, issued.pem);
      expect(opensslOk(["verify", "-CAfile", made.cert, "-purpose", "sslclient", leaf])).toBe(`${leaf}: OK\n`);
    });
  }

  it("an OpenSSL key of another pair is refused on import", async () => {
    const made = opensslCa("mismatch-root", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const otherKey = file("other.key");
    opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey]);
    const error = await importCertificateAuthority({
      certificatePem: made.certificatePem,
      privateKeyPem: readFileSync(otherKey, "utf8"),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PkiInputError);
    expect(error).toMatchObject({ field: "private_key" });
  });

  it("an OpenSSL CSR is certified with the form's subject, not the CSR's, and the certificate holds the CSR's key", async () => {
    const csrPath = file("device.csr");
    opensslOk(
      ["req", "-new", "-config", REQ_CONFIG, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"].concat([
        "-nodes",
        "-keyout",
        file("device.key"),
        "-out",
        csrPath,
        "-subj",
        "/CN=admin/O=Somebody Else",
      ]),
    );
    const issued = await issueClientCertificate({
      authority: ca,
      subject: "CN=client,O=Example Bank,C=GB",
      validity: year,
      key: { csr: readFileSync(csrPath, "utf8") },
    });
    const leaf = file("device.pem", issued.pem);
    expect(opensslOk(["verify", "-CAfile", file("ca.pem"), leaf])).toBe(`${leaf}: OK\n`);
    expect(opensslOk(["x509", "-in", leaf, "-noout", "-subject", "-nameopt", "RFC2253"]).trim()).toBe(
      "subject=CN=client,O=Example Bank,C=GB",
    );
    expect(opensslOk(["x509", "-in", leaf, "-noout", "-pubkey"])).toBe(
      opensslOk(["req", "-in", csrPath, "-noout", "-pubkey"]),
    );
  });
});
