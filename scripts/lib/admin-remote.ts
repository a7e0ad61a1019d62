/**
 * `npm run admin -- <command> --remote <url>`: the client and user commands through a running
 * edge-op's admin API (/admin/api, docs/admin-console.md) instead of SQL through wrangler. The
 * Worker then validates with its own settings, stores with its own keys and writes the audit
 * row (actor `client:<operator client>`), and disabling a user revokes the user's tokens, which
 * SQL alone cannot do.
 *
 * Credentials, from the environment (never from the command line, where they would land in the
 * shell's history and the process list): EDGE_OP_ADMIN_TOKEN, an access token carrying the
 * `admin` scope; or EDGE_OP_ADMIN_CLIENT_ID (or --operator-client) and
 * EDGE_OP_ADMIN_CLIENT_SECRET of an operator client, for which a client_credentials token is
 * fetched from the provider's token endpoint (its path found by discovery, at the given URL).
 */
import { readFileSync } from "node:fs";
import { OperationError, UsageError } from "./admin-errors.ts";

export type RemoteValues = Partial<Record<string, string | boolean | string[]>>;

/** The options each command can send through the API; the others have no API field yet. */
const REMOTE_OPTIONS: Record<string, readonly string[]> = {
  "client add": [
    "client-id",
    "name",
    "auth-method",
    "generate-secret",
    "auth-signing-alg",
    "jwks-file",
    "tls-subject-dn",
    "grant-types",
    "redirect-uris",
    "scope",
    "delivery-mode",
    "notification-endpoint",
    "backchannel-signing-alg",
    "user-code",
    "require-par",
    "request-object-alg",
    "fapi-ciba",
    "profile",
    "dpop-bound",
  ],
  "client list": [],
  "client remove": ["client-id"],
  "user add": ["username", "password", "email", "name", "ciba-user-code"],
  "user set-code": ["username", "ciba-user-code"],
  "user list": [],
  "user disable": ["username"],
  "user enable": ["username"],
};

/** Options of the connection itself, allowed with every remote command. */
const CONNECTION_OPTIONS = ["help", "remote-url", "operator-client"];

/** The provider's base URL: https, or http on a loopback host only (credentials travel on it). */
export function remoteBase(text: string): string {
  const url = URL.parse(text);
  const loopback = url !== null && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
  if (url === null || !(url.protocol === "https:" || (url.protocol === "http:" && loopback))) {
    throw new UsageError(`--remote ${text}: give the provider's https URL (http only on a loopback host)`);
  }
  url.search = "";
  url.hash = "";
  return url.href.replace(/\/+$/, "");
}

export async function runRemote(command: string, values: RemoteValues, env: NodeJS.ProcessEnv): Promise<void> {
  const accepted = REMOTE_OPTIONS[command];
  if (!accepted) {
    throw new UsageError(
      `${command} is not available through the admin API; run it without a URL (--remote alone means the deployed D1 through wrangler)`,
    );
  }
  const allowed = new Set([...CONNECTION_OPTIONS, ...accepted]);
  const stray = Object.keys(values).filter((option) => !allowed.has(option));
  if (stray.length > 0) {
    throw new UsageError(
      `${command} --remote URL cannot send ${stray.map((o) => `--${o}`).join(", ")}: the admin API has no such field yet`,
    );
  }
  const api = await AdminApi.connect(remoteBase(String(values["remote-url"])), values, env);
  await COMMANDS[command]?.(api, values);
}

/** One admin API connection: the base URL and the operator's access token. */
export class AdminApi {
  private constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  static async connect(base: string, values: RemoteValues, env: NodeJS.ProcessEnv): Promise<AdminApi> {
    if (env.EDGE_OP_ADMIN_TOKEN) return new AdminApi(base, env.EDGE_OP_ADMIN_TOKEN);
    const clientId = optionText(values, "operator-client") ?? env.EDGE_OP_ADMIN_CLIENT_ID;
    const secret = env.EDGE_OP_ADMIN_CLIENT_SECRET;
    if (!clientId || !secret) {
      throw new UsageError(
        "--remote URL needs EDGE_OP_ADMIN_TOKEN, or EDGE_OP_ADMIN_CLIENT_ID (or --operator-client) and EDGE_OP_ADMIN_CLIENT_SECRET of an operator client, in the environment",
      );
    }
    return new AdminApi(base, await operatorToken(base, clientId, secret));
  }

  /** Calls `path` (under /admin/api); an answer other than 2xx becomes the tool's error. */
  async call(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.base}/admin/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
    });
    if (response.status === 204) return undefined;
    const answer = await response.json().catch(() => undefined);
    if (response.ok) return answer;
    const error = isObject(answer) ? answer : {};
    const description = typeof error.error_description === "string" ? error.error_description : response.statusText;
    const field = typeof error.field === "string" ? `${error.field}: ` : "";
    // 400 is the operator's input (exit 2, nothing written); anything else, the operation (exit 1).
    if (response.status === 400) throw new UsageError(`${field}${description}`);
    throw new OperationError(`the admin API answered ${response.status}: ${field}${description}`);
  }
}

/** RFC 6749 §4.4: a client_credentials token with the `admin` scope, client_secret_basic (§2.3.1). */
async function operatorToken(base: string, clientId: string, secret: string): Promise<string> {
  const discovery = await fetch(`${base}/.well-known/openid-configuration`).catch((error: unknown) => {
    throw new OperationError(`cannot reach ${base}: ${(error as Error).message}`);
  });
  const metadata: unknown = await discovery.json().catch(() => undefined);
  const tokenEndpoint = isObject(metadata) ? metadata.token_endpoint : undefined;
  if (!discovery.ok || typeof tokenEndpoint !== "string") {
    throw new OperationError(`${base} has no OpenID provider metadata (status ${discovery.status})`);
  }
  // The tool talks to the address it was given (a workers.dev name or a tunnel may differ from
  // the issuer's); discovery supplies the endpoint's path, base path included.
  const tokenUrl = new URL(URL.parse(tokenEndpoint)?.pathname ?? "/token", new URL(base).origin);
  const credentials = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64");
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: { authorization: `Basic ${credentials}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "admin" }).toString(),
  });
  const answer: unknown = await response.json().catch(() => undefined);
  if (!response.ok || !isObject(answer) || typeof answer.access_token !== "string") {
    const why = isObject(answer) && typeof answer.error === "string" ? answer.error : `status ${response.status}`;
    throw new OperationError(`the operator client ${clientId} got no admin token: ${why}`);
  }
  return answer.access_token;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionText(values: RemoteValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

function requiredText(values: RemoteValues, name: string): string {
  const value = optionText(values, name);
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

function commaList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function cell(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function table(rows: string[][], header: string[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function records(answer: unknown, key: string): Record<string, unknown>[] {
  const list = isObject(answer) ? answer[key] : undefined;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

/** The user with exactly this username (the API searches by substring). */
async function userByName(api: AdminApi, username: string): Promise<Record<string, unknown>> {
  const found = records(await api.call("GET", `/users?q=${encodeURIComponent(username)}`), "users");
  const user = found.find((u) => u.username === username);
  if (!user || typeof user.sub !== "string") throw new OperationError(`no user ${JSON.stringify(username)}`);
  return user;
}

const COMMANDS: Record<string, (api: AdminApi, values: RemoteValues) => Promise<void>> = {
  "client add": async (api, values) => {
    const clientId = requiredText(values, "client-id");
    const jwksFile = optionText(values, "jwks-file");
    // The API takes the console form's fields; the secret, if any, is generated by the Worker.
    const answer = await api.call("POST", "/clients", {
      client_id: clientId,
      client_name: optionText(values, "name") ?? clientId,
      token_endpoint_auth_method: optionText(values, "auth-method") ?? "client_secret_basic",
      token_endpoint_auth_signing_alg: optionText(values, "auth-signing-alg") ?? "",
      jwks: jwksFile === undefined ? "" : readText(jwksFile, "jwks-file"),
      tls_client_auth_subject_dn: optionText(values, "tls-subject-dn") ?? "",
      grant_types:
        values["grant-types"] === undefined ? ["client_credentials"] : commaList(optionText(values, "grant-types")),
      redirect_uris: commaList(optionText(values, "redirect-uris")).join("\n"),
      scope: optionText(values, "scope") ?? "openid",
      backchannel_token_delivery_mode: optionText(values, "delivery-mode") ?? "",
      backchannel_client_notification_endpoint: optionText(values, "notification-endpoint") ?? "",
      backchannel_authentication_request_signing_alg: optionText(values, "backchannel-signing-alg") ?? "",
      backchannel_user_code_parameter: values["user-code"] === true,
      require_pushed_authorization_requests: values["require-par"] === true,
      request_object_signing_alg: optionText(values, "request-object-alg") ?? "",
      fapi_ciba: values["fapi-ciba"] === true,
      profile: optionText(values, "profile") ?? "",
      dpop_bound_access_tokens: values["dpop-bound"] === true,
    });
    console.log(`Client ${clientId} added through ${api.base}'s admin API.`);
    const secret = isObject(answer) ? answer.client_secret : undefined;
    if (typeof secret === "string") {
      console.log(`client_secret: ${secret}`);
      console.log("This is the only time the secret is shown: D1 stores its hash. Keep it somewhere safe.");
    }
  },
  "client list": async (api) => {
    const clients = records(await api.call("GET", "/clients"), "clients");
    if (clients.length === 0) return console.log(`No clients at ${api.base}.`);
    const rows = clients.map((c) => [
      cell(c.client_id),
      cell(c.client_name),
      cell(c.token_endpoint_auth_method),
      Array.isArray(c.grant_types) ? c.grant_types.join(",") : "",
      cell(c.backchannel_token_delivery_mode),
      c.disabled_at ? "disabled" : "",
    ]);
    console.log(table(rows, ["CLIENT ID", "NAME", "AUTH METHOD", "GRANT TYPES", "DELIVERY MODE", "STATUS"]));
  },
  "client remove": async (api, values) => {
    const clientId = requiredText(values, "client-id");
    await api.call("DELETE", `/clients/${encodeURIComponent(clientId)}`);
    console.log(`Client ${clientId} removed through ${api.base}'s admin API, with its consents and token families.`);
  },
  "user add": async (api, values) => {
    const username = requiredText(values, "username");
    const user = await api.call("POST", "/users", {
      username,
      password: requiredText(values, "password"),
      email: optionText(values, "email"),
      name: optionText(values, "name"),
    });
    const sub = isObject(user) ? cell(user.sub) : "";
    const code = optionText(values, "ciba-user-code");
    if (code !== undefined) await api.call("POST", `/users/${encodeURIComponent(sub)}/user-code`, { user_code: code });
    console.log(`User ${username} added through ${api.base}'s admin API (sub ${sub}).`);
  },
  "user set-code": async (api, values) => {
    const username = requiredText(values, "username");
    const user = await userByName(api, username);
    const code = requiredText(values, "ciba-user-code");
    await api.call("POST", `/users/${encodeURIComponent(cell(user.sub))}/user-code`, { user_code: code });
    console.log(`User ${username}'s CIBA user_code set through ${api.base}'s admin API.`);
  },
  "user list": async (api) => {
    const users = records(await api.call("GET", "/users"), "users");
    if (users.length === 0) return console.log(`No users at ${api.base}.`);
    const rows = users.map((u) => [
      cell(u.username),
      cell(u.sub),
      cell(u.email),
      cell(u.name),
      u.disabled_at ? "disabled" : "",
    ]);
    console.log(table(rows, ["USERNAME", "SUB", "EMAIL", "NAME", "STATUS"]));
  },
  "user disable": (api, values) => setDisabled(api, values, true),
  "user enable": (api, values) => setDisabled(api, values, false),
};

async function setDisabled(api: AdminApi, values: RemoteValues, disabled: boolean): Promise<void> {
  const username = requiredText(values, "username");
  const user = await userByName(api, username);
  await api.call("POST", `/users/${encodeURIComponent(cell(user.sub))}/disable`, { disabled });
  console.log(
    disabled
      ? `User ${username} disabled through ${api.base}'s admin API: their sessions ended and their tokens were revoked.`
      : `User ${username} enabled through ${api.base}'s admin API.`,
  );
}

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new UsageError(`--${option} ${file}: ${reason}`);
  }
}
