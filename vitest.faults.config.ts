/**
 * `npm run test:faults`: fault tests in Node (not workerd). test/faults/global-setup.ts bundles the
 * Worker once, as `wrangler deploy` would; each test file starts it in its own local runtime
 * process with persisted state (scripts/lib/local-edge.ts) and stops and starts that process
 * between the steps of real flows. `npm test` (vitest.config.ts) never picks these up: they end
 * in .faults.ts.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.faults.ts"],
    environment: "node",
    globalSetup: ["./test/faults/global-setup.ts"],
    // One runtime process per file, started and killed many times: files run one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
