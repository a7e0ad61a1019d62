/**
 * `npm start`: the provider on http://localhost:8787, offline, ready to use.
 *
 *   1. .dev.vars: created once with a fresh signing key, data encryption key and VAPID key pair
 *      (Web Push), then kept.
 *   2. D1 migrations applied to the local database (.wrangler/state).
 *   3. The dev seed (scripts/lib/dev-seed.ts) loaded: demo clients and users, idempotently.
 *   4. `wrangler dev` on 127.0.0.1:8787, in the foreground, until Ctrl-C.
 *
 * `npm start -- --reset` first deletes the local state (D1, KV, Durable Objects); .dev.vars and
 * its keys are kept (delete that file for new keys).
 *
 * The Worker always runs with TRUST_CF_TLS_CLIENT_AUTH=false: the local runtime builds
 * `request.cf` from an `MF-CF-Blob` header any client can send, so a certificate claimed there
 * must not authenticate anyone. `npm start -- --mtls` also runs the local mTLS proxy
 * (scripts/lib/mtls-proxy.ts) on https://localhost:8443, with the dev certificates in
 * .dev-certs/ (made once, then kept), and tells the Worker to trust the proxy's Client-Cert
 * header (TRUST_CLIENT_CERT_HEADER; the proxy proves each one with a key derived from
 * .dev.vars' DATA_ENCRYPTION_KEY) and to list the proxy as its mtls_endpoint_aliases
 * (MTLS_ENDPOINT_ORIGIN). Without --mtls no request authenticates with a certificate.
 * docs/mtls.md has the details.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import type { Server } from "node:https";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { RegistrationError } from "../src/clients/metadata.ts";
import { ConfigurationError } from "../src/config.ts";
import { CertificateFileError } from "./lib/certificate-files.ts";
import { D1Error, d1File } from "./lib/d1.ts";
import { type DevCertificates, ensureDevCertificates } from "./lib/dev-certs.ts";
import { DEMO_CIBA_MTLS_CLIENT, DEV_CERTIFICATE_CLIENTS, DEV_CLIENTS, DEV_USERS, devSeedSql } from "./lib/dev-seed.ts";
import { DEV_VARS_PATH, ensureDevVars, readDevVars } from "./lib/dev-vars.ts";
import { startMtlsProxy } from "./lib/mtls-proxy.ts";
import { scopesSupported, wranglerTomlVars } from "./lib/settings.ts";
import { assertSupportedNode, PROJECT_ROOT, spawnWrangler, WranglerError, wrangler } from "./lib/wrangler.ts";

const HOST = "127.0.0.1";
const PORT = 8787;
const MTLS_PORT = 8443;
const MTLS_ORIGIN = `https://localhost:${MTLS_PORT}`;
const STATE_DIR = join(PROJECT_ROOT, ".wrangler", "state");

const USAGE = `Usage: npm start [-- [--reset] [--mtls]]

Runs edge-op locally on http://localhost:${PORT}: creates .dev.vars (keys) if missing, applies
the D1 migrations, loads the demo clients and users, then runs \`wrangler dev\`.

  --reset   delete the local state (.wrangler/state: D1, KV, Durable Objects) first and
            start from the migrations and the seed; .dev.vars is kept
  --mtls    mutual TLS: also run a TLS proxy on ${MTLS_ORIGIN} that asks for client
            certificates and passes them to the Worker (dev CA and certificates in
            .dev-certs/, made once); see docs/mtls.md
  --help    show this help
`;

function step(message: string): void {
  console.log(`[edge-op] ${message}`);
}

interface Prepared {
  /** With --mtls: the certificates, and the key the proxy proves its headers with. */
  mtls?: { certs: DevCertificates; dataEncryptionKey: string };
}

async function prepare(reset: boolean, mtls: boolean): Promise<Prepared> {
  if (reset) {
    rmSync(STATE_DIR, { recursive: true, force: true });
    step("local state deleted (.wrangler/state)");
  }

  const devVars = await ensureDevVars();
  if (devVars.created) step("created .dev.vars with a new signing key and data encryption key");
  else if (devVars.added.length > 0) step(`added ${devVars.added.join(", ")} to .dev.vars`);
  else step("using the keys in .dev.vars");

  await wrangler(["d1", "migrations", "apply", "DB", "--local"]);
  step("D1 migrations applied (local)");

  const vars = readDevVars(DEV_VARS_PATH);
  const sql = await devSeedSql({
    scopesSupported: scopesSupported(vars, await wranglerTomlVars()),
    dataEncryptionKey: vars.DATA_ENCRYPTION_KEY,
  });
  await d1File("local", sql);
  const clientIds = [...DEV_CLIENTS, ...DEV_CERTIFICATE_CLIENTS].map((c) => c.client_id);
  step(`dev seed loaded: clients ${clientIds.join(", ")}; users ${DEV_USERS.map((u) => u.username).join(", ")}`);

  if (!mtls) return {};
  const certs = await ensureDevCertificates();
  step(
    certs.created.length > 0
      ? `made ${certs.created.join(", ")} in .dev-certs/`
      : "using the dev CA and certificates in .dev-certs/",
  );
  return { mtls: { certs, dataEncryptionKey: vars.DATA_ENCRYPTION_KEY ?? "" } };
}

function shown(path: string): string {
  return relative(PROJECT_ROOT, path);
}

function mtlsBanner(certs: DevCertificates): string[] {
  const client = DEMO_CIBA_MTLS_CLIENT;
  return [
    `  Mutual TLS (--mtls): ${MTLS_ORIGIN} asks for a client certificate and forwards to http://localhost:${PORT}`,
    "    (discovery lists it as mtls_endpoint_aliases; certificate-bound tokens need it for /userinfo too)",
    `    dev CA             ${shown(certs.ca.cert)}`,
    `    ${client.client_id.padEnd(18)} tls_client_auth, subject ${client.tls_client_auth_subject_dn}: ${shown(certs.client.cert)}, ${shown(certs.client.key)}`,
    `    self-signed        ${shown(certs.selfSigned.cert)} (key, jwks.json alongside) for self_signed_tls_client_auth`,
    "  Try:",
    `    npm run demo:ciba -- --mtls   (CIBA as ${client.client_id}; approve at http://localhost:${PORT}/ciba as alice)`,
    `    curl --cacert ${shown(certs.ca.cert)} --cert ${shown(certs.client.cert)} --key ${shown(certs.client.key)} \\`,
    `      -d client_id=${client.client_id} -d login_hint=alice -d scope=openid ${MTLS_ORIGIN}/bc-authorize`,
    "",
  ];
}

function banner(certs: DevCertificates | undefined): string {
  const base = `http://localhost:${PORT}`;
  const clients = DEV_CLIENTS.map(
    (c) => `    ${c.client_id.padEnd(10)} secret ${c.client_secret.padEnd(18)} ${c.grant_types.join(", ")}`,
  );
  const users = DEV_USERS.map(
    (u) => `    ${u.username.padEnd(10)} password ${u.password.padEnd(16)} ${u.email ?? ""} ${u.phone_number ?? ""}`,
  );
  return [
    "",
    `  edge-op (local development) on ${base}`,
    `    discovery  ${base}/.well-known/openid-configuration`,
    "",
    "  Demo clients (client_secret_basic; dev-only secrets):",
    ...clients,
    `  Demo client with a TLS client certificate (tls_client_auth, ${DEMO_CIBA_MTLS_CLIENT.tls_client_auth_subject_dn}${certs ? "" : "; start with --mtls to use it"}):`,
    `    ${DEMO_CIBA_MTLS_CLIENT.client_id} ${DEMO_CIBA_MTLS_CLIENT.grant_types.join(", ")}`,
    "  Demo users (dev-only passwords):",
    ...users,
    "",
    "  Try:",
    `    curl -u demo-ciba:demo-ciba-secret -d grant_type=client_credentials ${base}/token`,
    `    npm run demo:ciba -- --login-hint alice   (a CIBA login: approve it at ${base}/ciba as alice)`,
    "",
    ...(certs ? mtlsBanner(certs) : []),
    "  More: docs/local-development.md (seed, reset, admin CLI), docs/configuration.md (settings, keys),",
    "  docs/mtls.md (mutual TLS).",
    "  Stop with Ctrl-C.",
    "",
  ].join("\n");
}

/** Runs `wrangler dev` in the foreground; resolves with the exit code to leave with. */
function runDevServer(extraArgs: readonly string[] = []): Promise<number> {
  const child: ChildProcess = spawnWrangler(
    ["dev", "--ip", HOST, "--port", String(PORT), "--show-interactive-dev-session=false", ...extraArgs],
    { stdio: "inherit" },
  );
  // Ctrl-C in a terminal reaches wrangler directly (same process group); a signal sent to this
  // process alone (a supervisor, `kill`) is passed on, so wrangler can stop workerd cleanly.
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  process.on("SIGHUP", forward);
  return new Promise((resolve) => {
    child.on("error", (error) => {
      console.error(`[edge-op] could not start wrangler: ${error.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => {
      const signalCodes: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
      resolve(code ?? (signal ? (signalCodes[signal] ?? 1) : 0));
    });
  });
}

/**
 * The mTLS proxy in front of wrangler dev (before wrangler starts, so a busy port fails fast).
 * Requests that arrive before wrangler is ready get a 502.
 */
async function startProxy(certs: DevCertificates, dataEncryptionKey: string): Promise<Server> {
  const server = await startMtlsProxy({
    cert: readFileSync(certs.server.cert, "utf8"),
    key: readFileSync(certs.server.key, "utf8"),
    ca: readFileSync(certs.ca.cert, "utf8"),
    target: new URL(`http://${HOST}:${PORT}`),
    dataEncryptionKey,
    port: MTLS_PORT,
    log: (line) => console.log(`[mtls-proxy] ${line}`),
  });
  step(`mTLS proxy listening on ${MTLS_ORIGIN} -> http://${HOST}:${PORT}`);
  return server;
}

/**
 * wrangler dev settings, always: request.cf is the local runtime's, built from a header any
 * client can send (MF-CF-Blob), so it proves no certificate.
 */
const LOCAL_VARS = [
  "--var",
  "TRUST_CF_TLS_CLIENT_AUTH:false",
  // Web Push to the devices subscribed on /ciba, and the approval URL in the log; loopback
  // push endpoints (a local receiver, as npm run demo:ciba starts) allowed, development only.
  "--var",
  "CIBA_NOTIFICATION:webpush,log",
  "--var",
  "VAPID_SUBJECT:mailto:dev@localhost",
  "--var",
  "ALLOW_HTTP_NOTIFICATION_ENDPOINTS:true",
  // RFC 9396's example type, so the demo clients can ask to approve a payment (README).
  "--var",
  "AUTHORIZATION_DETAILS_BUILTIN_TYPES:payment_initiation",
];
/** And for --mtls: trust the proxy's header, list the proxy as the mTLS aliases. */
const MTLS_VARS = ["--var", "TRUST_CLIENT_CERT_HEADER:true", "--var", `MTLS_ENDPOINT_ORIGIN:${MTLS_ORIGIN}`];

async function main(): Promise<number> {
  let reset: boolean;
  let mtls: boolean;
  try {
    const { values } = parseArgs({
      options: {
        reset: { type: "boolean", default: false },
        mtls: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    reset = values.reset;
    mtls = values.mtls;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  try {
    assertSupportedNode();
  } catch (error) {
    console.error(`[edge-op] ${(error as Error).message}`);
    return 1;
  }
  let prepared: Prepared;
  try {
    prepared = await prepare(reset, mtls);
  } catch (error) {
    if (error instanceof CertificateFileError) {
      console.error(`[edge-op] the dev certificates are not usable: ${error.message}`);
      console.error("[edge-op] delete .dev-certs/ and start again to make new ones.");
    } else if (error instanceof RegistrationError || error instanceof ConfigurationError) {
      console.error(`[edge-op] the dev seed (scripts/lib/dev-seed.ts) is not valid: ${error.message}`);
    } else if (error instanceof WranglerError || error instanceof D1Error) {
      const detail = error instanceof WranglerError ? `:\n${error.output}` : `: ${error.message}`;
      console.error(`[edge-op] could not prepare the local database${detail}`);
      console.error("[edge-op] `npm start -- --reset` starts again from an empty local database.");
    } else {
      throw error;
    }
    return 1;
  }
  if (!prepared.mtls) {
    console.log(banner(undefined));
    return runDevServer(LOCAL_VARS);
  }
  const { certs, dataEncryptionKey } = prepared.mtls;
  let proxy: Server;
  try {
    proxy = await startProxy(certs, dataEncryptionKey);
  } catch (error) {
    console.error(`[edge-op] could not start the mTLS proxy on 127.0.0.1:${MTLS_PORT}: ${(error as Error).message}`);
    console.error("[edge-op] is another `npm start -- --mtls` or `npm run mtls-proxy` still running?");
    return 1;
  }
  console.log(banner(certs));
  try {
    return await runDevServer([...LOCAL_VARS, ...MTLS_VARS]);
  } finally {
    proxy.close();
    proxy.closeAllConnections();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  console.error("[edge-op] unexpected error:", error);
  return 1;
});
