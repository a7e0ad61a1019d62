/**
 * `npm run test:e2e`: end-to-end tests in Node (not workerd). test/e2e/global-setup.ts starts the
 * real provider in `wrangler dev` on a free port with its own state; the tests drive Debian's
 * Chromium (playwright-core) as the user's phone and openid-client as the client.
 * `npm test` (vitest.config.ts) never picks these up: they end in .e2e.ts and live in test/e2e.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["./test/e2e/global-setup.ts"],
    // One provider, one browser at a time; CIBA polling waits 5 s per poll, hence the timeouts.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
