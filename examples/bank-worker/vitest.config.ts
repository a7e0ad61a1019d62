/**
 * The example's tests, run by the root `npm test` as the "bank-worker" project. The Worker under
 * test is the example itself (wrangler.toml); edge-op comes from `npm pack`'s tarball, unpacked
 * into node_modules/edge-op just before this project's runtime starts (not at config load, so a
 * run of other projects neither packs nor waits for it), and its D1 migrations come from there.
 * The example is then also bundled by wrangler's own bundler (`wrangler deploy --dry-run`), as a
 * deployment would, and test/package.test.ts checks what went into that bundle.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { generateDevSecrets } from "../../scripts/lib/dev-secrets.ts";
import { installPackedEdgeOp } from "../../scripts/lib/example-package.ts";
import { PROJECT_ROOT, runWrangler } from "../../scripts/lib/wrangler.ts";

export default defineProject({
  plugins: [
    cloudflareTest(async () => {
      const edgeOp = installPackedEdgeOp(import.meta.dirname);
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...(await generateDevSecrets()),
            TEST_MIGRATIONS: await readD1Migrations(`${edgeOp}/migrations`),
            // What the tarball unpacked to, for test/package.test.ts.
            TEST_PACKAGE_FILES: JSON.stringify(filesUnder(edgeOp).map((file) => relative(edgeOp, file))),
            // What wrangler bundled, for test/package.test.ts.
            TEST_WRANGLER_BUNDLE: JSON.stringify(await wranglerBundle(import.meta.dirname)),
          },
        },
      };
    }),
  ],
  root: import.meta.dirname,
  test: {
    name: "bank-worker",
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 20_000,
  },
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/**
 * `wrangler deploy --dry-run` of the example: the files its bundle was made from (its source
 * map's sources, relative to the repository), or wrangler's output when it failed.
 */
async function wranglerBundle(exampleDir: string): Promise<{ sources: string[] } | { error: string }> {
  const outdir = mkdtempSync(join(tmpdir(), "bank-worker-bundle-"));
  try {
    const config = join(exampleDir, "wrangler.toml");
    const result = await runWrangler(["deploy", "--dry-run", "--outdir", outdir, "--config", config]);
    if (result.code !== 0) return { error: `${result.stdout}${result.stderr}`.slice(-4000) };
    const map = readdirSync(outdir).find((file) => file.endsWith(".js.map"));
    if (!map) return { error: `wrangler wrote no source map to ${outdir}` };
    const { sources } = JSON.parse(readFileSync(join(outdir, map), "utf8")) as { sources: string[] };
    return { sources: sources.map((source) => relative(PROJECT_ROOT, resolve(outdir, source))) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
