/**
 * Where edge-op sends notifications (CIBA §10.2/§10.3 client notification endpoints, checklist
 * S3, and the CIBA_WEBHOOK_URL notifier): never to an IP-literal host in a loopback, private,
 * link-local, unique-local, shared (CGNAT) or other non-public range, in any spelling, at
 * registration, when a request is accepted, when a delivery is sent, and in the settings. The
 * development switch ALLOW_HTTP_NOTIFICATION_ENDPOINTS allows loopback only (the test suite
 * sets it, since its receiver listens on http://127.0.0.1). DNS names are not resolved. A
 * client's jwks_uri, which edge-op fetches too, is held to the same rule at registration here
 * (test/registration.test.ts: /register; test/client-authentication.test.ts: before each fetch).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sendToClient } from "../src/ciba/client-delivery";
import {
  type ClientRegistration,
  notificationEndpointProblem,
  RegistrationError,
  validateClientRegistration,
} from "../src/clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../src/clients/registry";
import { ConfigurationError, loadSettings } from "../src/config";
import type { Bindings } from "../src/env";
import { CIBA_GRANT } from "./helpers/ciba";
import { registerUser } from "./helpers/fixtures";
import { basic, call, jsonOf, type OAuthErrorBody } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";

const NON_PUBLIC = [
  "https://169.254.169.254/latest/meta-data/",
  "https://127.0.0.1:8443/cb",
  "https://2130706433/cb",
  "https://0x7f.1/cb",
  "https://[::ffff:127.0.0.1]/cb",
  "https://[::1]/cb",
  "https://localhost/cb",
  "https://10.1.2.3/cb",
  "https://172.16.0.1/cb",
  "https://192.168.1.1/cb",
  "https://100.64.0.1/cb",
  "https://0.0.0.0/cb",
  "https://[::]/cb",
  "https://[fd00::1]/cb",
  "https://[fe80::1]/cb",
  "https://[::ffff:169.254.169.254]/cb",
];
/** Not public, and not loopback either: refused even with the development switch. */
const NEVER = NON_PUBLIC.filter((url) => !/127\.0\.0\.1|2130706433|0x7f|::1\]|localhost/.test(url));

const SECRET = "notify-secret-0123456789";
const registration = (endpoint: string, clientId = "notify"): ClientRegistration => ({
  client_id: clientId,
  client_name: "",
  client_secret: SECRET,
  token_endpoint_auth_method: "client_secret_basic",
  grant_types: [CIBA_GRANT],
  redirect_uris: [],
  scope: "openid",
  backchannel_token_delivery_mode: "ping",
  backchannel_client_notification_endpoint: endpoint,
  backchannel_user_code_parameter: false,
  require_pushed_authorization_requests: false,
});

function register(endpoint: string, allowHttpNotificationEndpoints: boolean) {
  return () => validateClientRegistration(registration(endpoint), ["openid"], { allowHttpNotificationEndpoints });
}

describe("S3 at registration (validateClientRegistration, used by the admin tool and the seed)", () => {
  it("refuses IP-literal endpoints in non-public ranges, in every spelling", () => {
    for (const endpoint of NON_PUBLIC) {
      expect(register(endpoint, false), endpoint).toThrow(RegistrationError);
      expect(register(endpoint, false), endpoint).toThrow(/must not name/);
    }
  });

  it("with the development switch, allows loopback only, and still refuses private, link-local and the rest", () => {
    for (const endpoint of ["http://127.0.0.1:9000/cb", "https://127.0.0.1:8443/cb", "http://[::1]:9000/cb"]) {
      expect(register(endpoint, true), endpoint).not.toThrow();
    }
    for (const endpoint of NEVER) expect(register(endpoint, true), endpoint).toThrow(/must not name/);
  });

  it("accepts DNS names (resolving nothing) and public addresses", () => {
    for (const endpoint of ["https://rp.example/cb", "https://8.8.8.8/cb", "https://[2606:4700:4700::1111]/cb"]) {
      expect(register(endpoint, false), endpoint).not.toThrow();
    }
  });

  it("names the range in the error", () => {
    expect(notificationEndpointProblem("https://169.254.169.254/", false)).toMatch(/169\.254\.0\.0\/16/);
    expect(notificationEndpointProblem("https://[::ffff:10.0.0.1]/", false)).toMatch(/private .*IPv4-mapped/);
  });
});

describe("S3 for a client's jwks_uri at registration (validateClientRegistration: the admin tool, the console, /register)", () => {
  const keysAt = (jwksUri: string): ClientRegistration => ({
    client_id: "keys-at",
    client_name: "",
    token_endpoint_auth_method: "private_key_jwt",
    grant_types: ["client_credentials"],
    redirect_uris: [],
    scope: "openid",
    jwks_uri: jwksUri,
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
  });
  const registerKeysAt = (jwksUri: string, allowHttpNotificationEndpoints: boolean) => () =>
    validateClientRegistration(keysAt(jwksUri), ["openid"], { allowHttpNotificationEndpoints });

  it("refuses a jwks_uri whose host is an IP literal in a non-public range, in every spelling", () => {
    for (const uri of NON_PUBLIC) {
      expect(registerKeysAt(uri, false), uri).toThrow(RegistrationError);
      expect(registerKeysAt(uri, false), uri).toThrow(/jwks_uri must not name a non-public address/);
    }
  });

  it("without the development switch, a loopback jwks_uri is refused over http as well", () => {
    for (const uri of ["http://127.0.0.1:9000/jwks", "http://localhost/jwks", "http://[::1]:9000/jwks"]) {
      expect(registerKeysAt(uri, false), uri).toThrow(/jwks_uri must not name a non-public address: loopback/);
    }
  });

  it("with the development switch, allows a loopback jwks_uri only, and still refuses private, link-local and the rest", () => {
    for (const uri of ["http://127.0.0.1:9000/jwks", "https://127.0.0.1:8443/jwks", "http://[::1]:9000/jwks"]) {
      expect(registerKeysAt(uri, true), uri).not.toThrow();
    }
    for (const uri of NEVER) expect(registerKeysAt(uri, true), uri).toThrow(/jwks_uri must not name/);
  });

  it("accepts a jwks_uri on a DNS name (resolving nothing) or a public address, https only", () => {
    for (const uri of ["https://rp.example/jwks", "https://8.8.8.8/jwks", "https://[2606:4700:4700::1111]/jwks"]) {
      expect(registerKeysAt(uri, false), uri).not.toThrow();
    }
    expect(registerKeysAt("http://rp.example/jwks", true)).toThrow(/jwks_uri must be https/);
  });
});

describe("S3 when a request is accepted (/bc-authorize)", () => {
  it("refuses a request when the registry holds an endpoint on a link-local address", async () => {
    await registerUser({ username: "nora", password: "nora-password" });
    // A row written around validateClientRegistration (e.g. edited by hand, or registered before).
    const row = await clientRow(
      registration("https://169.254.169.254/latest", "metadata-grabber"),
      env.DATA_ENCRYPTION_KEY,
    );
    await env.DB.prepare(
      `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
    )
      .bind(...CLIENT_COLUMNS.map((column) => row[column]))
      .run();
    const body = new URLSearchParams({ scope: "openid", login_hint: "nora", client_notification_token: "t0ken" });
    const headers = { "content-type": "application/x-www-form-urlencoded", ...basic("metadata-grabber", SECRET) };
    const { status, body: error } = await jsonOf<OAuthErrorBody>(
      await call("/bc-authorize", { method: "POST", headers, body }),
    );
    expect(status).toBe(400);
    expect(error.error).toBe("unauthorized_client");
    expect(error.error_description).toMatch(/link-local/);
  });
});

describe("S3 when a delivery is sent (sendToClient)", () => {
  const log = { internal_id: "x", client_id: "x", mode: "ping", attempt: 1 };
  const production = { ...loadSettings(env), allowHttpNotificationEndpoints: false };

  it("does not send to a loopback or private address, and does not retry", async () => {
    // Nothing listens on port 9: before this check an attempt was made and retried.
    for (const endpoint of ["https://127.0.0.1:9/cb", "https://[::ffff:127.0.0.1]:9/cb", "https://10.0.0.1:9/cb"]) {
      const outcome = await sendToClient(production, endpoint, "t0ken", { auth_req_id: "x" }, log);
      expect(outcome, endpoint).toBe("failed");
    }
  });

  it("does not send to the loopback receiver either, unless the development switch is on", async () => {
    await program("/notify/guarded", { status: 204 });
    const endpoint = outsideUrl("/notify/guarded");
    expect(await sendToClient(production, endpoint, "t0ken", { auth_req_id: "x" }, log)).toBe("failed");
    expect(await received("/notify/guarded")).toHaveLength(0);
    const development = { ...production, allowHttpNotificationEndpoints: true };
    expect(await sendToClient(development, endpoint, "t0ken", { auth_req_id: "x" }, log)).toBe("sent");
    expect(await received("/notify/guarded")).toHaveLength(1);
  });
});

describe("S3 for the CIBA_WEBHOOK_URL notifier (settings)", () => {
  const withVars = (vars: Partial<Bindings>) => () => loadSettings({ ...env, ...vars } as Bindings);

  it("refuses a non-public webhook host; loopback only with the development switch", () => {
    for (const url of ["https://169.254.169.254/hook", "https://10.0.0.1/hook", "https://[fd00::1]/hook"]) {
      expect(withVars({ CIBA_WEBHOOK_URL: url }), url).toThrow(ConfigurationError);
    }
    const production = { ALLOW_HTTP_NOTIFICATION_ENDPOINTS: "false" };
    for (const url of ["http://localhost:9000/hook", "https://127.0.0.1/hook", "https://0x7f.1/hook"]) {
      expect(withVars({ ...production, CIBA_WEBHOOK_URL: url }), url).toThrow(/CIBA_WEBHOOK_URL/);
    }
    expect(withVars({ CIBA_WEBHOOK_URL: "http://127.0.0.1:9000/hook" })().cibaWebhookUrl).toBe(
      "http://127.0.0.1:9000/hook",
    );
    expect(withVars({ ...production, CIBA_WEBHOOK_URL: "https://notify.example/hook" })().cibaWebhookUrl).toBe(
      "https://notify.example/hook",
    );
  });
});
