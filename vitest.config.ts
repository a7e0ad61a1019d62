/**
 * Tests run inside workerd (@cloudflare/vitest-plugin) with the real D1, KV and Durable Object
 * implementations from wrangler.toml. Keys are generated here, once per run, and handed to the
 * Worker as the same secrets production uses.
 */
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";
import { generateCertificate } from "./scripts/lib/certificates.ts";
import { generateDevSecrets } from "./scripts/lib/dev-secrets.ts";
import { generateVapidVars } from "./scripts/lib/vapid.ts";

/** Client certificates for the mTLS tests: a CA, two certificates it issued, one self-signed. */
async function testCertificates() {
  const ca = await generateCertificate({ subject: "CN=edge-op test CA", purpose: "ca" });
  const kiosk = await generateCertificate({
    // In ASN.1 order, most general first; its RFC 4514 string is "CN=kiosk-9,O=Example Bank,C=GB".
    subject: "C=GB, O=Example Bank, CN=kiosk-9",
    issuer: ca,
    subjectAltNames: [
      { type: "dns", value: "kiosk-9.example" },
      { type: "url", value: "https://kiosk.example/9" },
      { type: "ip", value: "192.0.2.9" },
      { type: "email", value: "kiosk9@example.com" },
    ],
  });
  const other = await generateCertificate({ subject: "C=GB, O=Example Bank, CN=other", issuer: ca });
  const selfSigned = await generateCertificate({ subject: "CN=self-signed client" });
  const pick = (c: typeof kiosk) => ({ der: c.derBase64, publicJwk: c.publicJwk });
  return JSON.stringify({ kiosk: pick(kiosk), other: pick(other), selfSigned: pick(selfSigned) });
}

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const secrets = await generateDevSecrets();
      // Realm "b" of test/worker.ts signs with keys of its own.
      const realmB = await generateDevSecrets();
      // A trusted issuer of login_hint_tokens, whose private key the tests use to sign them.
      const hintIssuer = await generateKeyPair("ES256", { extractable: true });
      const hintIssuerPublic = { ...(await exportJWK(hintIssuer.publicKey)), kid: "hint-1", alg: "ES256" };
      return {
        wrangler: { configPath: "./wrangler.toml" },
        // The repository's provider with swappable CIBA services (test/worker.ts).
        main: "./test/worker.ts",
        miniflare: {
          bindings: {
            ...secrets,
            // Web Push's key pair and contact (issue 16); `webpush` is listed only where a test
            // runs with it (test/push-api.test.ts).
            ...(await generateVapidVars()),
            VAPID_SUBJECT: "mailto:ops@edge-op.example",
            // Tests change registrations between requests; the cache has its own test.
            CLIENT_CACHE_SECONDS: "0",
            SCOPES_SUPPORTED: "openid profile email phone offline_access ciba:approve api:read api:write",
            // The test helper, the clients' notification endpoint, listens on http://127.0.0.1.
            ALLOW_HTTP_NOTIFICATION_ENDPOINTS: "true",
            // Tests send request.cf.tlsClientAuth as Cloudflare's edge would, so they believe it as a
            // deployment does. Said explicitly because wrangler also reads a local .dev.vars, where
            // `npm start` writes false (the local runtime lets any client forge request.cf).
            TRUST_CF_TLS_CLIENT_AUTH: "true",
            LOGIN_HINT_TOKEN_ISSUERS: JSON.stringify([
              { issuer: "https://hints.example", jwks: { keys: [hintIssuerPublic] } },
            ]),
            TEST_HINT_ISSUER_PRIVATE_JWK: JSON.stringify({
              ...(await exportJWK(hintIssuer.privateKey)),
              kid: "hint-1",
            }),
            TEST_CERTIFICATES: await testCertificates(),
            TEST_MIGRATIONS: await readD1Migrations("migrations"),
            REALM_B_SIGNING_KEYS: realmB.SIGNING_KEYS,
            TEST_HELPER_URL: inject<string>("testHelperUrl"),
            TEST_PUSH_SERVICE_URL: inject<string>("pushServiceUrl"),
            // Likewise the caps on a user's pending requests; test/ciba-limits.test.ts checks them
            // with low values and with the defaults.
            CIBA_MAX_PENDING_PER_USER: "1000",
            CIBA_MAX_PENDING_PER_USER_AND_CLIENT: "1000",
            // RFC 9396's example type, as npm start turns it on (test/rar-endpoints.test.ts).
            AUTHORIZATION_DETAILS_BUILTIN_TYPES: "payment_initiation",
          },
          // Realm "b" of test/worker.ts: its own database and backchannel request objects.
          d1Databases: { REALM_B_DB: "realm-b-db" },
          durableObjects: {
            // The per-user object of issue 16 (src/users/user-object.ts), for its tests only.
            TEST_USER_OBJECT: { className: "UserObject", useSQLite: true },
            REALM_B_BACKCHANNEL_REQUESTS: { className: "RealmBBackchannelRequestObject", useSQLite: true },
          },
          // The suite sends far more backchannel requests per client and per user than a real client
          // would (dozens for one user within seconds), so its /bc-authorize limits are loose;
          // test/ciba-limits.test.ts runs the Worker with the strict copies below in their place,
          // as a deployment configured so would run.
          ratelimits: {
            CIBA_BY_CLIENT: { namespace_id: "1004", simple: { limit: 100_000, period: 10 } },
            CIBA_BY_USER: { namespace_id: "1005", simple: { limit: 100_000, period: 60 } },
            TEST_STRICT_CIBA_BY_CLIENT: { namespace_id: "9004", simple: { limit: 3, period: 60 } },
            TEST_STRICT_CIBA_BY_USER: { namespace_id: "9005", simple: { limit: 3, period: 60 } },
          },
        },
      };
    }),
  ],
  test: {
    // `npm test` runs every project: edge-op's own suite (this config, in workerd), test/node/
    // in Node (checks that read files, e.g. docs/conformance.md against the code) and each
    // example, which runs edge-op from `npm pack`'s tarball (examples/*/vitest.config.ts).
    projects: [
      { test: { name: "edge-op" } },
      { extends: false, test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"] } },
      "./examples/*/vitest.config.ts",
    ],
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/node/**"],
    // @simplewebauthn/server's ASN.1 dependencies ship ES modules with extensionless imports,
    // which workerd's module loader cannot resolve; Vite bundles them for the tests (wrangler's
    // esbuild does the same for the deployed Worker).
    deps: { optimizer: { ssr: { enabled: true, include: ["@simplewebauthn/server"] } } },
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 20_000,
  },
});
