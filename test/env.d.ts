/** Bindings the test configuration adds on top of wrangler.toml (see vitest.config.ts). */
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Base URL of the helper HTTP server started by test/global-setup.ts (jwks_uri, receivers). */
      TEST_HELPER_URL: string;
      /** Base URL of the fake Web Push service (test/node/push-service.ts). */
      TEST_PUSH_SERVICE_URL: string;
      /** The per-user object of issue 16, bound for its tests only (vitest.config.ts). */
      TEST_USER_OBJECT: DurableObjectNamespace<import("../src/users/user-object").UserObject>;
      /** Private JWK of the trusted login_hint_token issuer "https://hints.example". */
      TEST_HINT_ISSUER_PRIVATE_JWK: string;
      /** JSON {kiosk, other, selfSigned}: {der (base64), publicJwk}, see vitest.config.ts. */
      TEST_CERTIFICATES: string;
      /** Strict copies (3 per 60 s) of CIBA_BY_CLIENT and CIBA_BY_USER, for test/ciba-limits.test.ts. */
      TEST_STRICT_CIBA_BY_CLIENT: RateLimit;
      TEST_STRICT_CIBA_BY_USER: RateLimit;
      /** Realm "b" of test/worker.ts (test/realms.test.ts). */
      REALM_B_DB: D1Database;
      REALM_B_BACKCHANNEL_REQUESTS: DurableObjectNamespace<
        import("../src/ciba/request-object-api").BackchannelRequestObjectApi
      >;
      REALM_B_SIGNING_KEYS: string;
    }
  }
}

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import("./worker");
    }
  }
}
