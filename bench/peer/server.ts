/**
 * The peer: node-oidc-provider (the `oidc-provider` package) on Node 22, set up for what the
 * benchmark drives on edge-op, with the same clients, users and flows:
 *
 * - CIBA in poll mode at /bc-authorize; `login_hint` is resolved against the same users
 *   (username, e-mail or phone number); the authentication device is "notified" with one JSON
 *   log line, as edge-op's `log` notifier does;
 * - pushed authorization requests at /par, resolved at /authorize;
 * - client_credentials at /token;
 * - the authorization code flow with PKCE, /userinfo, and sessions (cookies `_session*`);
 * - ES256-signed JWT access tokens (RFC 9068 style, through resource indicators with a default
 *   resource) and ES256 ID tokens, as edge-op issues them; except for the code-flow client
 *   (demo-web), whose access tokens are the package's opaque ones, the only kind its /userinfo
 *   accepts (a token with an audience is refused there);
 * - storage (BENCH_PEER_CONFIG.storage): "memory", a plain in-process Map (MapAdapter below,
 *   nothing ever evicted, unlike the package's own 1,000-entry LRU MemoryAdapter), or "sqlite",
 *   a durable database file (sqlite-adapter.ts: node:sqlite, WAL, one table per model).
 *
 * The benchmark completes a CIBA request the way the package documents it, with
 * `provider.backchannelResult(request, grant)`, through one bench-only route:
 *   POST /__bench/ciba/complete {"auth_req_id", "subject", "scopes"}
 * and signs a browser in through the package's interaction API: GET /interaction/:uid (the
 * package's default interaction URL) finishes the interaction with `login` and `consent` (a Grant
 * for the requested scopes) for the user named by the `x-bench-subject` header, as an
 * application's own sign-in and consent pages would after the user's answers.
 *
 * Runs with Node's built-in type stripping (no loader): `node bench/peer/server.ts`, configured
 * by the JSON in BENCH_PEER_CONFIG ({port, clients, users, storage, database});
 * prints {"listening": port} when ready.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import type { Adapter, AdapterPayload, ClientMetadata, Configuration, KoaContextWithOIDC } from "oidc-provider";
import Provider from "oidc-provider";
import { openDatabase, SqliteAdapter } from "./sqlite-adapter.ts";

interface PeerUser {
  sub: string;
  username: string;
  email?: string;
  email_verified?: boolean;
  phone_number?: string;
  phone_number_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
}

interface PeerConfig {
  port: number;
  clients: ClientMetadata[];
  users: PeerUser[];
  storage: "memory" | "sqlite";
  /** The SQLite database file (storage "sqlite"). */
  database?: string;
}

const config = JSON.parse(process.env.BENCH_PEER_CONFIG ?? "{}") as PeerConfig;
const ISSUER = `http://127.0.0.1:${config.port}`;
/** The audience of every access token, as edge-op's tokens carry its issuer when no resource is asked for. */
const DEFAULT_RESOURCE = `${ISSUER}/`;
/** The code-flow client: its access tokens are for /userinfo (no resource, opaque). */
const USERINFO_CLIENT = "demo-web";

// ------------------------------------------------------------------ storage: a Map, no eviction

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

const store = new Map<string, Entry>();
const grantMembers = new Map<string, Set<string>>();
const byUid = new Map<string, string>();
const byUserCode = new Map<string, string>();

class MapAdapter implements Adapter {
  private readonly model: string;

  constructor(model: string) {
    this.model = model;
  }

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY });
    if (payload.grantId) {
      const members = grantMembers.get(payload.grantId) ?? new Set<string>();
      members.add(key);
      grantMembers.set(payload.grantId, members);
    }
    if (payload.uid) byUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = byUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// ------------------------------------------------------------------ users and login_hint

const users = new Map(config.users.map((user) => [user.sub, user]));

function userByLoginHint(hint: string): PeerUser | undefined {
  const lower = hint.toLowerCase();
  return config.users.find(
    (u) => u.username.toLowerCase() === lower || u.email?.toLowerCase() === lower || u.phone_number === hint,
  );
}

// ------------------------------------------------------------------ the provider

const { privateKey } = await generateKeyPair("ES256", { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "peer-es256", alg: "ES256", use: "sig" };

if (config.storage === "sqlite") {
  if (!config.database) throw new Error("storage sqlite needs a database file");
  openDatabase(config.database);
}

const configuration: Configuration = {
  adapter: config.storage === "sqlite" ? SqliteAdapter : MapAdapter,
  clients: config.clients,
  clientDefaults: {
    grant_types: ["authorization_code"],
    id_token_signed_response_alg: "ES256",
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  },
  cookies: { keys: ["bench-only-cookie-key-0123456789"] },
  jwks: { keys: [signingKey] },
  scopes: ["openid", "profile", "email", "phone", "offline_access"],
  claims: {
    openid: ["sub"],
    profile: ["name", "given_name", "family_name"],
    email: ["email", "email_verified"],
    phone: ["phone_number", "phone_number_verified"],
  },
  async findAccount(_ctx: KoaContextWithOIDC, sub: string) {
    const user = users.get(sub);
    if (!user) return undefined;
    return { accountId: sub, claims: async () => ({ ...user }) };
  },
  routes: {
    authorization: "/authorize",
    backchannel_authentication: "/bc-authorize",
    jwks: "/jwks",
    pushed_authorization_request: "/par",
    token: "/token",
    userinfo: "/userinfo",
  },
  ttl: {
    AccessToken: 600,
    BackchannelAuthenticationRequest: 300,
    ClientCredentials: 600,
    Grant: 2_592_000,
    IdToken: 600,
    Interaction: 600,
    PushedAuthorizationRequest: 60,
    Session: 28_800,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, client) => (client.clientId === USERINFO_CLIENT ? undefined : DEFAULT_RESOURCE),
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: "openid profile email phone offline_access",
        audience: ISSUER,
        accessTokenTTL: 600,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "ES256" } },
      }),
    },
    ciba: {
      enabled: true,
      deliveryModes: ["poll"],
      async processLoginHint(_ctx: KoaContextWithOIDC, loginHint?: string) {
        return loginHint === undefined ? undefined : userByLoginHint(loginHint)?.sub;
      },
      async processLoginHintToken() {
        return undefined;
      },
      async validateBindingMessage() {},
      async validateRequestContext() {},
      async verifyUserCode() {},
      async triggerAuthenticationDevice(_ctx, request, account, client) {
        console.log(
          JSON.stringify({
            event: "ciba_login_request",
            subject: account.accountId,
            client_id: client.clientId,
            jti: request.jti,
          }),
        );
      },
    },
  },
};

const provider = new Provider(ISSUER, configuration);

// ------------------------------------------------------------------ the bench-only completion route

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function completeCiba(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const { auth_req_id: authReqId, subject, scopes } = body;
  if (typeof authReqId !== "string" || typeof subject !== "string" || !Array.isArray(scopes)) {
    return json(res, 400, { error: "invalid_request" });
  }
  const request = await provider.BackchannelAuthenticationRequest.find(authReqId);
  if (!request || request.accountId !== subject) return json(res, 409, { error: "not_found" });
  const grant = new provider.Grant({ accountId: subject, clientId: request.clientId });
  grant.addOIDCScope(scopes.map(String).join(" "));
  grant.addResourceScope(DEFAULT_RESOURCE, scopes.map(String).join(" "));
  await grant.save();
  await provider.backchannelResult(request, grant, {
    authTime: Math.floor(Date.now() / 1000),
    amr: ["pwd"],
    sid: "bench-session",
  });
  json(res, 200, { status: "approved" });
}

/** The sign-in and consent pages of an application, answered at once for the bench's user. */
async function finishInteraction(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const subject = req.headers["x-bench-subject"];
  if (typeof subject !== "string" || !users.has(subject)) return json(res, 400, { error: "unknown subject" });
  const details = await provider.interactionDetails(req, res);
  const clientId = String(details.params.client_id);
  const grant = new provider.Grant({ accountId: subject, clientId });
  grant.addOIDCScope(String(details.params.scope ?? "openid"));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: subject, amr: ["pwd"] }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const fail = (error: unknown) => json(res, 500, { error: String(error) });
  if (req.url === "/__bench/ciba/complete" && req.method === "POST") {
    completeCiba(req, res).catch(fail);
    return;
  }
  if (req.url?.startsWith("/interaction/") && req.method === "GET") {
    finishInteraction(req, res).catch(fail);
    return;
  }
  handle(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(config.port, "127.0.0.1", () => {
  console.log(JSON.stringify({ listening: config.port }));
});
