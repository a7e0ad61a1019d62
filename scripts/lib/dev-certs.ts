/**
 * `.dev-certs/` (gitignored): the certificates of local mTLS, made once by
 * `npm start -- --mtls` (or `npm run mtls-proxy`) and then kept:
 *
 *   ca/               the dev CA (CN=edge-op dev CA): the proxy trusts client certificates it issued
 *   server/           https://localhost:8443's certificate (localhost, 127.0.0.1, ::1), from the dev CA
 *   demo-ciba-mtls/   client certificate CN=demo-ciba-mtls from the dev CA (tls_client_auth; the seed's
 *                     demo-ciba-mtls client)
 *   self-signed/      a self-signed client certificate CN=demo-self-signed, with jwks.json
 *                     (self_signed_tls_client_auth)
 *
 * Each folder holds cert.pem and key.pem, the layout `npm run admin -- certs …` writes, so
 * `--ca-dir .dev-certs/ca` issues more client certificates from the dev CA. Everything is made
 * again if the CA is missing or about to expire; a missing or expiring leaf is remade alone.
 * The keys are for local development only.
 */
import { join } from "node:path";
import {
  type CertificatePaths,
  certificatePaths,
  certificateValid,
  generateCa,
  generateServerCertificate,
  readCertificateDir,
  writeCertificateDir,
} from "./certificate-files.ts";
import { generateCertificate } from "./certificates.ts";
import { DEMO_MTLS_SUBJECT_DN } from "./dev-seed.ts";
import { PROJECT_ROOT } from "./wrangler.ts";

export const DEV_CERTS_DIR = join(PROJECT_ROOT, ".dev-certs");
export const SELF_SIGNED_SUBJECT = "CN=demo-self-signed";

export interface DevCertificates {
  ca: CertificatePaths;
  server: CertificatePaths;
  client: CertificatePaths;
  selfSigned: CertificatePaths;
}

export function devCertificatePaths(root = DEV_CERTS_DIR): DevCertificates {
  return {
    ca: certificatePaths(join(root, "ca")),
    server: certificatePaths(join(root, "server")),
    client: certificatePaths(join(root, "demo-ciba-mtls")),
    selfSigned: certificatePaths(join(root, "self-signed")),
  };
}

/** Makes whatever is missing in .dev-certs/; returns the paths and what was (re)made. */
export async function ensureDevCertificates(root = DEV_CERTS_DIR): Promise<DevCertificates & { created: string[] }> {
  const paths = devCertificatePaths(root);
  const created: string[] = [];
  const caFresh = !certificateValid(paths.ca.dir, 30);
  const ca = caFresh ? await generateCa("CN=edge-op dev CA,O=edge-op local development") : undefined;
  if (ca) {
    await writeCertificateDir(paths.ca.dir, ca, { overwrite: true });
    created.push("dev CA");
  }
  const issuer = ca ?? (await readCertificateDir(paths.ca.dir));
  if (caFresh || !certificateValid(paths.server.dir)) {
    const server = await generateServerCertificate(issuer, { dns: ["localhost"], ip: ["127.0.0.1", "::1"] });
    await writeCertificateDir(paths.server.dir, server, { overwrite: true });
    created.push("server certificate (localhost)");
  }
  if (caFresh || !certificateValid(paths.client.dir)) {
    const client = await generateCertificate({ subject: DEMO_MTLS_SUBJECT_DN, issuer });
    await writeCertificateDir(paths.client.dir, client, { overwrite: true });
    created.push(`client certificate ${DEMO_MTLS_SUBJECT_DN}`);
  }
  if (!certificateValid(paths.selfSigned.dir)) {
    const selfSigned = await generateCertificate({ subject: SELF_SIGNED_SUBJECT });
    await writeCertificateDir(paths.selfSigned.dir, selfSigned, { withJwks: true, overwrite: true });
    created.push(`self-signed client certificate ${SELF_SIGNED_SUBJECT}`);
  }
  return { ...paths, created };
}
