/**
 * Running the project's own wrangler (node_modules/wrangler) from the scripts: always with the
 * Node that runs the script (npm scripts put node 22 from node_modules/.bin first on PATH), from
 * the project root, and with nothing that phones home: no metrics, no error reports, no skills
 * prompts, no request.cf fetch from workers.cloudflare.com.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

const WRANGLER_BIN = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");

/** wrangler 4 needs Node 22.12 or newer; fail with a hint instead of its own message. */
export function assertSupportedNode(): void {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(
      `wrangler needs Node 22.12 or newer, this is ${process.version}. Run the scripts through npm ` +
        "(npm start, npm run admin -- …), which uses the node from the project's devDependencies.",
    );
  }
}

export function wranglerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_NO_SKILLS_UPDATE_PROMPTS: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    ...extra,
  };
}

/** Starts wrangler with `args`; the caller owns the child (stdio, signals, exit). */
export function spawnWrangler(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [WRANGLER_BIN, ...args], {
    cwd: PROJECT_ROOT,
    env: wranglerEnv(),
    ...options,
  });
}

export interface WranglerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs wrangler to completion without a terminal (stdin closed, CI=true), so commands that
 * would ask for confirmation, such as `d1 migrations apply`, proceed without prompting.
 */
export function runWrangler(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<WranglerResult> {
  return new Promise((resolve, reject) => {
    const child = spawnWrangler(args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: wranglerEnv({ CI: "true", ...extraEnv }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), stdout, stderr }));
  });
}

export class WranglerError extends Error {
  override name = "WranglerError";
  constructor(
    readonly command: string,
    readonly result: WranglerResult,
  ) {
    super(`\`wrangler ${command}\` failed (exit code ${result.code})`);
  }

  /** wrangler's own explanation, for printing under the message. */
  get output(): string {
    return `${this.result.stdout}${this.result.stderr}`.trim();
  }
}

/** Like runWrangler, but throws WranglerError on a non-zero exit. */
export async function wrangler(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<WranglerResult> {
  const result = await runWrangler(args, extraEnv);
  if (result.code !== 0) throw new WranglerError(args.slice(0, 3).join(" "), result);
  return result;
}
