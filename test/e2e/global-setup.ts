/**
 * The end-to-end tests' server: the real provider in `wrangler dev`, started the way `npm start`
 * starts it (scripts/start.ts), with the same helpers, but isolated so it never touches the
 * developer's own local provider:
 *
 *   - a free port on 127.0.0.1, with ISSUER set to that origin (`--var ISSUER:http://127.0.0.1:N`),
 *     so discovery, token `iss`, cookies and redirects all name the URL the browser and the client use;
 *   - its own state directory (`--persist-to`, a new temporary directory): D1 migrations applied and
 *     the dev seed (demo-ciba, alice, bob…) loaded into it, deleted afterwards;
 *   - its own fresh keys in an env file in that directory (`--env-file`, so `.dev.vars` is neither
 *     read nor created);
 *   - offline: no metrics, no `request.cf` download (scripts/lib/wrangler.ts sets the variables);
 *   - the settings of `npm start -- --mtls`: `request.cf` not believed (TRUST_CF_TLS_CLIENT_AUTH=false,
 *     the local runtime builds it from a client's MF-CF-Blob header) and the local mTLS proxy's
 *     headers believed (TRUST_CLIENT_CERT_HEADER=true); test/e2e/mtls-local.e2e.ts starts the proxy
 *     with the same DATA_ENCRYPTION_KEY (provided as e2eDataEncryptionKey);
 *   - wrangler.toml as it is except for the sign-in rate limits (5 per username, 20 per address a
 *     minute), raised in a copy in the state directory: every test signs in from 127.0.0.1, bob
 *     in most of them, within a minute, and the 6th sign-in got 429 Too Many Requests.
 *
 * wrangler runs in its own process group (detached), and teardown signals the whole group, so
 * workerd goes too. The server's output is written to test-results/e2e/server.log.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { generateDevSecrets } from "../../scripts/lib/dev-secrets.ts";
import { devSeedSql } from "../../scripts/lib/dev-seed.ts";
import { scopesSupported, wranglerTomlVars } from "../../scripts/lib/settings.ts";
import {
  assertSupportedNode,
  PROJECT_ROOT,
  spawnWrangler,
  WranglerError,
  wrangler,
} from "../../scripts/lib/wrangler.ts";

const HOST = "127.0.0.1";
export const E2E_RESULTS_DIR = join(PROJECT_ROOT, "test-results", "e2e");
const SERVER_LOG = join(E2E_RESULTS_DIR, "server.log");
const STARTUP_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

function log(message: string): void {
  console.log(`[e2e] ${message}`);
}

/** A port nobody listens on right now (the OS picks it; wrangler binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/** D1 migrations and the dev seed, into `stateDir`, with the helpers `npm start` uses. */
export async function prepareState(stateDir: string, dataEncryptionKey: string): Promise<void> {
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir]);
  const sql = await devSeedSql({
    scopesSupported: scopesSupported(await wranglerTomlVars()),
    dataEncryptionKey,
  });
  const seedFile = join(stateDir, "seed.sql");
  writeFileSync(seedFile, sql, { mode: 0o600 });
  await wrangler(["d1", "execute", "DB", "--local", "--persist-to", stateDir, "--yes", "--file", seedFile]);
  rmSync(seedFile);
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to wrangler's whole process group, then SIGKILL for whatever is left after a while. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) {
    log("server did not stop on SIGTERM; sending SIGKILL");
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone in between
    }
    while (groupAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitForDiscovery(issuer: string, child: ChildProcess): Promise<void> {
  const url = `${issuer}/.well-known/openid-configuration`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before it answered`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) {
        const metadata = (await response.json()) as { issuer?: string };
        if (metadata.issuer === issuer) return;
        throw new Error(`discovery names issuer ${metadata.issuer}, expected ${issuer}`);
      }
      last = `HTTP ${response.status}`;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("discovery names")) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${STARTUP_TIMEOUT_MS / 1000} s (${last})`);
}

function logTail(lines = 40): string {
  try {
    return readFileSync(SERVER_LOG, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server log)";
  }
}

export default async function setup(project: TestProject) {
  assertSupportedNode();
  const started = Date.now();
  mkdirSync(E2E_RESULTS_DIR, { recursive: true });
  const stateDir = mkdtempSync(join(tmpdir(), "edge-op-e2e-"));
  let child: ChildProcess | undefined;
  // If the run is cut short (Ctrl-C, a crash), never leave the server behind.
  const killOnExit = () => {
    if (child?.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
  };
  process.on("exit", killOnExit);

  const teardown = async () => {
    if (child) await stopGroup(child);
    process.off("exit", killOnExit);
    if (process.env.E2E_KEEP_STATE) log(`state kept in ${stateDir}`);
    else rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    const port = await freePort();
    const issuer = `http://${HOST}:${port}`;
    const out = createWriteStream(SERVER_LOG);
    const spawned = await spawnProvider(
      stateDir,
      issuer,
      port,
      {
        // As scripts/start.ts runs it with --mtls.
        TRUST_CF_TLS_CLIENT_AUTH: "false",
        TRUST_CLIENT_CERT_HEADER: "true",
        // As scripts/start.ts: the payment_initiation type of RFC 9396 (test/e2e/rar-payment.e2e.ts).
        AUTHORIZATION_DETAILS_BUILTIN_TYPES: "payment_initiation",
      },
      out,
    );
    child = spawned.child;
    await waitForDiscovery(issuer, child);
    log(`provider ready on ${issuer} in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${SERVER_LOG})`);
    project.provide("e2eIssuer", issuer);
    project.provide("e2eDataEncryptionKey", spawned.dataEncryptionKey);
  } catch (error) {
    await teardown();
    const detail = error instanceof WranglerError ? `\n${error.output}` : `\n--- server log (tail) ---\n${logTail()}`;
    throw new Error(`could not start the provider for the e2e tests: ${(error as Error).message}${detail}`);
  }
  return teardown;
}

/**
 * Starts the provider in `wrangler dev` on 127.0.0.1:`port` with its state in `stateDir`: fresh
 * keys in an env file there, D1 migrations and the dev seed, the e2e copy of wrangler.toml,
 * `ISSUER` = `issuer` and the given `vars`. Its output goes to `out`, or is discarded; wait for
 * it with waitForDiscovery. The passkey tests start their own, on a localhost issuer.
 */
export async function spawnProvider(
  stateDir: string,
  issuer: string,
  port: number,
  vars: Record<string, string> = {},
  out?: NodeJS.WritableStream,
): Promise<{ child: ChildProcess; dataEncryptionKey: string }> {
  const secrets = await generateDevSecrets();
  const envFile = join(stateDir, "e2e.env");
  writeFileSync(
    envFile,
    `SIGNING_KEYS='${secrets.SIGNING_KEYS}'\nDATA_ENCRYPTION_KEY=${secrets.DATA_ENCRYPTION_KEY}\n`,
    { mode: 0o600 },
  );
  await prepareState(stateDir, secrets.DATA_ENCRYPTION_KEY);
  const config = e2eWranglerConfig(stateDir);
  const varArgs = Object.entries({ ISSUER: issuer, ...vars }).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const child = spawnWrangler(
    [
      "dev",
      "--config",
      config,
      "--ip",
      HOST,
      "--port",
      String(port),
      "--show-interactive-dev-session=false",
      "--persist-to",
      stateDir,
      "--env-file",
      envFile,
      ...varArgs,
    ],
    { stdio: ["ignore", out ? "pipe" : "ignore", out ? "pipe" : "ignore"], detached: true },
  );
  if (out) {
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  return { child, dataEncryptionKey: secrets.DATA_ENCRYPTION_KEY };
}

declare module "vitest" {
  export interface ProvidedContext {
    e2eIssuer: string;
    /** The provider's DATA_ENCRYPTION_KEY (a fresh test key): the local mTLS proxy needs it. */
    e2eDataEncryptionKey: string;
  }
}

/**
 * wrangler.toml with absolute paths and the sign-in rate limits raised, written into `dir`. Only
 * those two limits change: the tests that check a 429 run in workerd (npm test), not here.
 */
function e2eWranglerConfig(dir: string): string {
  const original = readFileSync(join(PROJECT_ROOT, "wrangler.toml"), "utf8");
  const raised = original
    .replace(/^main = "src\/worker\.ts"$/m, `main = ${JSON.stringify(join(PROJECT_ROOT, "src", "worker.ts"))}`)
    .replace(/^migrations_dir = "migrations"$/m, `migrations_dir = ${JSON.stringify(join(PROJECT_ROOT, "migrations"))}`)
    .replace(
      /(name = "SIGNIN_BY_(?:USERNAME|ADDRESS)"\nnamespace_id = "\d+"\nsimple = \{ limit = )\d+/g,
      (_, head: string) => `${head}1000`,
    );
  if (raised.match(/limit = 1000/g)?.length !== 2 || !raised.includes(PROJECT_ROOT)) {
    throw new Error("wrangler.toml changed shape: update e2eWranglerConfig in test/e2e/global-setup.ts");
  }
  const path = join(dir, "wrangler.toml");
  writeFileSync(path, raised);
  return path;
}
