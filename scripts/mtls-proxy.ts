/**
 * `npm run mtls-proxy`: the local mTLS proxy on its own (scripts/lib/mtls-proxy.ts), in front
 * of a wrangler dev server you run yourself. `npm start -- --mtls` runs the same proxy next to
 * the provider and is what you normally want; this is for a wrangler dev started another way.
 *
 *   npm run mtls-proxy -- [--port 8443] [--target http://127.0.0.1:8787] [--certs .dev-certs]
 *                         [--dev-vars .dev.vars]
 *
 * The Worker behind it must run with TRUST_CLIENT_CERT_HEADER=true, TRUST_CF_TLS_CLIENT_AUTH=false
 * (loopback ISSUER only) and MTLS_ENDPOINT_ORIGIN=https://localhost:<port>, and with the
 * DATA_ENCRYPTION_KEY of the --dev-vars file: the proxy proves its Client-Cert headers with a
 * key derived from it. docs/mtls.md explains the setup.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEV_CERTS_DIR, ensureDevCertificates } from "./lib/dev-certs.ts";
import { DEV_VARS_PATH, readDevVars } from "./lib/dev-vars.ts";
import { startMtlsProxy } from "./lib/mtls-proxy.ts";

const USAGE = `Usage: npm run mtls-proxy -- [options]

A TLS-terminating proxy that asks for a client certificate and passes it on to wrangler dev as
the Client-Cert / Client-Cert-Verified headers (RFC 9440). See docs/mtls.md.

  --port N        where to listen on 127.0.0.1 (default 8443)
  --target URL    the wrangler dev server (default http://127.0.0.1:8787)
  --certs DIR     the dev certificates (default .dev-certs; made if missing)
  --dev-vars FILE the Worker's secrets (default .dev.vars): its DATA_ENCRYPTION_KEY keys the
                  proof that makes the Worker believe the proxy's Client-Cert headers
  --quiet         no line per request
  --help          show this help
`;

async function main(): Promise<number> {
  let values: { port: string; target: string; certs: string; "dev-vars": string; quiet: boolean; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string", default: "8443" },
        target: { type: "string", default: "http://127.0.0.1:8787" },
        certs: { type: "string", default: DEV_CERTS_DIR },
        "dev-vars": { type: "string", default: DEV_VARS_PATH },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    console.error(`--port must be a port number, got "${values.port}"`);
    return 2;
  }
  let target: URL;
  try {
    target = new URL(values.target);
    if (target.protocol !== "http:") throw new Error("not http");
  } catch {
    console.error(`--target must be an http URL such as http://127.0.0.1:8787, got "${values.target}"`);
    return 2;
  }

  const dataEncryptionKey = readDevVars(resolve(values["dev-vars"])).DATA_ENCRYPTION_KEY;
  if (!dataEncryptionKey) {
    console.error(`[mtls-proxy] no DATA_ENCRYPTION_KEY in ${values["dev-vars"]}: run \`npm start\` once to create it`);
    return 2;
  }
  const certs = await ensureDevCertificates(resolve(values.certs));
  if (certs.created.length > 0) console.log(`[mtls-proxy] made ${certs.created.join(", ")} in ${values.certs}`);
  const log = values.quiet ? undefined : (line: string) => console.log(`[mtls-proxy] ${line}`);
  try {
    const server = await startMtlsProxy({
      cert: readFileSync(certs.server.cert, "utf8"),
      key: readFileSync(certs.server.key, "utf8"),
      ca: readFileSync(certs.ca.cert, "utf8"),
      target,
      dataEncryptionKey,
      port,
      log,
    });
    console.log(
      `[mtls-proxy] https://localhost:${port} -> ${target.origin} (client certificates from ${certs.ca.cert})`,
    );
    await new Promise<void>((done) => {
      const stop = () => {
        server.close(() => done());
        server.closeAllConnections();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      process.once("SIGHUP", stop);
    });
  } catch (error) {
    console.error(`[mtls-proxy] could not listen on 127.0.0.1:${port}: ${(error as Error).message}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
