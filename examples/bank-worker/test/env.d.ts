/** What the example's tests see in `env`: the Worker's bindings plus the test configuration's. */
import type { D1Migration } from "cloudflare:test";
import type { Env as BankEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends BankEnv {
      /** edge-op's D1 migrations, read from the installed package (vitest.config.ts). */
      TEST_MIGRATIONS: D1Migration[];
      /** JSON list of the files of the installed package, relative to node_modules/edge-op. */
      TEST_PACKAGE_FILES: string;
      /** JSON: the files `wrangler deploy --dry-run` bundled (`{ sources }`), or `{ error }` (vitest.config.ts). */
      TEST_WRANGLER_BUNDLE: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
