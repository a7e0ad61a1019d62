/**
 * `npm start`: the provider on http://localhost:8787, offline, ready to use.
 *
 *   1. .dev.vars: created once with a fresh signing key and data encryption key, then kept.
 *   2. D1 migrations applied to the local database (.wrangler/state).
 *   3. The dev seed (scripts/lib/dev-seed.ts) loaded: demo clients and users, idempotently.
 *   4. `wrangler dev` on 127.0.0.1:8787, in the foreground, until Ctrl-C.
 *
 * `npm start -- --reset` first deletes the local state (D1, KV, Durable Objects); .dev.vars and
 * its keys are kept (delete that file for new keys).
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RegistrationError } from "../src/clients/metadata.ts";
import { ConfigurationError } from "../src/config.ts";
import { D1Error, d1File } from "./lib/d1.ts";
import { DEV_CLIENTS, DEV_USERS, devSeedSql } from "./lib/dev-seed.ts";
import { DEV_VARS_PATH, ensureDevVars, readDevVars } from "./lib/dev-vars.ts";
import { scopesSupported, wranglerTomlVars } from "./lib/settings.ts";
import { assertSupportedNode, PROJECT_ROOT, spawnWrangler, WranglerError, wrangler } from "./lib/wrangler.ts";

const HOST = "127.0.0.1";
const PORT = 8787;
const STATE_DIR = join(PROJECT_ROOT, ".wrangler", "state");

const USAGE = `Usage: npm start [-- --reset]

Runs edge-op locally on http://localhost:${PORT}: creates .dev.vars (keys) if missing, applies
the D1 migrations, loads the demo clients and users, then runs \`wrangler dev\`.

  --reset   delete the local state (.wrangler/state: D1, KV, Durable Objects) first and
            start from the migrations and the seed; .dev.vars is kept
  --help    show this help
`;

function step(message: string): void {
  console.log(`[edge-op] ${message}`);
}

async function prepare(reset: boolean): Promise<void> {
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
  step(
    `dev seed loaded: clients ${DEV_CLIENTS.map((c) => c.client_id).join(", ")}; users ${DEV_USERS.map((u) => u.username).join(", ")}`,
  );
}

function banner(): string {
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
    "  Demo users (dev-only passwords):",
    ...users,
    "",
    "  Try:",
    `    curl -u demo-ciba:demo-ciba-secret -d grant_type=client_credentials ${base}/token`,
    `    npm run demo:ciba -- --login-hint alice   (a CIBA login: approve it at ${base}/ciba as alice)`,
    "",
    "  More: docs/local-development.md (seed, reset, admin CLI), docs/configuration.md (settings, keys).",
    "  Stop with Ctrl-C.",
    "",
  ].join("\n");
}

/** Runs `wrangler dev` in the foreground; resolves with the exit code to leave with. */
function runDevServer(): Promise<number> {
  const child: ChildProcess = spawnWrangler(
    ["dev", "--ip", HOST, "--port", String(PORT), "--show-interactive-dev-session=false"],
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

async function main(): Promise<number> {
  let reset: boolean;
  try {
    const { values } = parseArgs({
      options: { reset: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    reset = values.reset;
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
  try {
    await prepare(reset);
  } catch (error) {
    if (error instanceof RegistrationError || error instanceof ConfigurationError) {
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
  console.log(banner());
  return runDevServer();
}

process.exitCode = await main().catch((error: unknown) => {
  console.error("[edge-op] unexpected error:", error);
  return 1;
});
