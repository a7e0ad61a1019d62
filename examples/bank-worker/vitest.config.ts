/**
 * The example's tests, run by the root `npm test` as the "bank-worker" project. The Worker under
 * test is the example itself (wrangler.toml); edge-op comes from `npm pack`'s tarball, unpacked
 * into node_modules/edge-op just before this project's runtime starts (not at config load, so a
 * run of other projects neither packs nor waits for it), and its D1 migrations come from there.
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { generateDevSecrets } from "../../scripts/lib/dev-secrets.ts";
import { installPackedEdgeOp } from "../../scripts/lib/example-package.ts";

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
