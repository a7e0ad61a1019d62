/**
 * `npm run admin -- … --remote <url>` (issue 17): the admin tool's client and user commands go
 * through a running provider's admin API, authenticated as an operator client, instead of SQL
 * through wrangler. The provider is the product bundle in a local runtime process
 * (scripts/lib/local-edge.ts, as the fault tests run it); the tool runs as `npm run admin` runs
 * it (tsx), and what it did is read back from the Worker's own D1, audit rows included.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorker, LocalEdge } from "../../scripts/lib/local-edge.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";

const OPERATOR = { id: "cli-operator", secret: "cli-operator-secret-0123456789" };
let edge: LocalEdge;
let url = "";

beforeAll(async () => {
  const script = await buildWorker(join(PROJECT_ROOT, "test-results", "admin-remote", "worker"));
  edge = await LocalEdge.create({
    script,
    // The deployment lists the admin scope, as docs/admin-console.md asks of an operator's provider.
    vars: { SCOPES_SUPPORTED: "openid profile email phone offline_access admin" },
    clients: [
      {
        client_id: OPERATOR.id,
        client_name: "CLI operator",
        client_secret: OPERATOR.secret,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["client_credentials"],
        redirect_uris: [],
        scope: "admin",
        backchannel_user_code_parameter: false,
        require_pushed_authorization_requests: false,
      },
    ],
  });
  url = edge.url.href.replace(/\/$/, "");
}, 240_000);

afterAll(async () => {
  await edge?.dispose();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The admin tool as `npm run admin -- …` runs it, with the operator's credentials in the environment. */
function admin(args: string[], env: Record<string, string> = operatorEnv()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
      ["scripts/admin.ts", ...args],
      { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function operatorEnv(): Record<string, string> {
  return { EDGE_OP_ADMIN_CLIENT_ID: OPERATOR.id, EDGE_OP_ADMIN_CLIENT_SECRET: OPERATOR.secret };
}

async function auditOf(target: string): Promise<string[]> {
  const { results } = await (await edge.db())
    .prepare("SELECT actor, action FROM admin_audit WHERE target = ? ORDER BY id")
    .bind(target)
    .all<{ actor: string; action: string }>();
  return results.map((row) => `${row.actor} ${row.action}`);
}

// Each step runs the tool in a process of its own (tsx compiles it first).
describe("npm run admin -- --remote <url>", { timeout: 90_000 }, () => {
  it("client add, list and remove go through the admin API: validated and audited by the Worker", async () => {
    const added = await admin([
      "client",
      "add",
      "--client-id",
      "cli-kiosk",
      "--grant-types",
      "urn:openid:params:grant-type:ciba",
      "--delivery-mode",
      "poll",
      "--scope",
      "openid profile",
      "--remote",
      url,
    ]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const secret = /client_secret: (\S+)/.exec(added.stdout)?.[1] ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await (await edge.db())
      .prepare("SELECT client_secret_hash FROM clients WHERE client_id = 'cli-kiosk'")
      .first<{ client_secret_hash: string }>();
    expect(row?.client_secret_hash).toBeTruthy();
    expect(row?.client_secret_hash).not.toContain(secret);
    expect(await auditOf("cli-kiosk")).toEqual([`client:${OPERATOR.id} client.create`]);
    // The secret the tool printed authenticates the client at the Worker.
    const token = await fetch(`${url}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`cli-kiosk:${secret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    expect(((await token.json()) as { error: string }).error).toBe("unauthorized_client");

    // The Worker's own validation answers: a CIBA client without a delivery mode, exit 2.
    const invalid = await admin([
      "client",
      "add",
      "--client-id",
      "cli-broken",
      "--grant-types",
      "urn:openid:params:grant-type:ciba",
      "--remote",
      url,
    ]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/backchannel_token_delivery_mode/);

    const listed = await admin(["client", "list", "--remote", url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/cli-kiosk\s+cli-kiosk\s+client_secret_basic/);

    const removed = await admin(["client", "remove", "--client-id", "cli-kiosk", `--remote=${url}`]);
    expect(removed.code).toBe(0);
    expect(await (await edge.db()).prepare("SELECT 1 FROM clients WHERE client_id = 'cli-kiosk'").first()).toBeNull();
    expect(await auditOf("cli-kiosk")).toEqual([
      `client:${OPERATOR.id} client.create`,
      `client:${OPERATOR.id} client.remove`,
    ]);
  });

  it("user add, set-code, disable and enable go through the admin API", async () => {
    const added = await admin([
      "user",
      "add",
      "--username",
      "cli-user",
      "--password",
      "cli-user-password",
      "--ciba-user-code",
      "cli-code-42",
      "--remote",
      url,
    ]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const sub = /\(sub ([^)]+)\)/.exec(added.stdout)?.[1] ?? "";
    const user = () =>
      edge
        .db()
        .then((db) =>
          db
            .prepare("SELECT user_code_hash, disabled_at FROM users WHERE sub = ?")
            .bind(sub)
            .first<{ user_code_hash: string | null; disabled_at: number | null }>(),
        );
    expect((await user())?.user_code_hash).toMatch(/^hmac-sha256\$/);

    expect((await admin(["user", "disable", "--username", "cli-user", "--remote", url])).code).toBe(0);
    expect((await user())?.disabled_at).toBeGreaterThan(0);
    const listed = await admin(["user", "list", "--remote", url]);
    expect(listed.stdout).toMatch(/cli-user\s+\S+\s+disabled/);
    expect((await admin(["user", "enable", "--username", "cli-user", "--remote", url])).code).toBe(0);
    expect((await user())?.disabled_at).toBeNull();
    expect(await auditOf(sub)).toEqual([
      `client:${OPERATOR.id} user.create`,
      `client:${OPERATOR.id} user.set_user_code`,
      `client:${OPERATOR.id} user.disable`,
      `client:${OPERATOR.id} user.enable`,
    ]);
  });

  it("refuses what the API cannot do, missing credentials and a wrong secret, writing nothing", async () => {
    const field = await admin([
      "client",
      "add",
      "--client-id",
      "cli-uri",
      "--jwks-uri",
      "https://x.example/j",
      "--remote",
      url,
    ]);
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/cannot send --jwks-uri/);
    const remove = await admin(["user", "remove", "--username", "cli-user", "--remote", url]);
    expect(remove.code).toBe(2);
    expect(remove.stderr).toMatch(/not available through the admin API/);
    const anonymous = await admin(["client", "list", "--remote", url], {});
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/EDGE_OP_ADMIN_TOKEN/);
    const wrong = await admin(["client", "list", "--remote", url], {
      EDGE_OP_ADMIN_CLIENT_ID: OPERATOR.id,
      EDGE_OP_ADMIN_CLIENT_SECRET: "not-the-secret-0123456789",
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/got no admin token: invalid_client/);
    const plainHttp = await admin(["client", "list", "--remote", "http://example.com"]);
    expect(plainHttp.code).toBe(2);
    expect(await (await edge.db()).prepare("SELECT 1 FROM clients WHERE client_id = 'cli-uri'").first()).toBeNull();
  });

  it("user disable needs the API: without a URL it is refused", async () => {
    const local = await admin(["user", "disable", "--username", "cli-user"]);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/admin API only/);
  });
});
