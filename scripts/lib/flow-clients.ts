/**
 * The clients and settings the fault tests and the soak run edge-op with: one client per kind of
 * flow, with short CIBA polling intervals so flows take seconds, and ping/push endpoints and the
 * user notification webhook on a loopback receiver (scripts/lib/loopback-receiver.ts), which
 * ALLOW_HTTP_NOTIFICATION_ENDPOINTS permits for local runs only.
 */
import { GRANT_TYPES } from "../../src/clients/metadata.ts";
import type { DevClient } from "./dev-seed.ts";
import type { LoopbackReceiver } from "./loopback-receiver.ts";

/** The code-flow clients' redirect URI: never visited, the code is read from the redirect. */
export const REDIRECT_URI = "https://rp.example/callback";

/** The user notification webhook's signing secret (local runs only). */
const WEBHOOK_SECRET = "local-webhook-secret-0123456789";

function cibaClient(id: string, overrides: Partial<DevClient>): DevClient {
  return {
    client_id: id,
    client_secret: `${id}-secret-0123456789`,
    client_name: `Local ${id}`,
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: [GRANT_TYPES.ciba, GRANT_TYPES.refreshToken, GRANT_TYPES.clientCredentials],
    redirect_uris: [],
    scope: "openid profile email offline_access",
    backchannel_token_delivery_mode: "poll",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
    ciba_polling_interval: 1,
    ...overrides,
  };
}

export interface FlowClients {
  poll: DevClient;
  /** A poll client of its own for hostile traffic, so it never uses up the flows' per-client caps. */
  hostile: DevClient;
  ping: DevClient;
  push: DevClient;
  /** Authorization code flow through PAR, with refresh tokens. */
  web: DevClient;
  /** The user's authenticator app: a code-flow client whose tokens carry ciba:approve. */
  authenticator: DevClient;
}

/** The clients, with ping and push endpoints at `receiverOrigin` + /ping and /push. */
export function flowClients(receiverOrigin: string): FlowClients {
  const codeClient = (id: string, scope: string): DevClient => ({
    client_id: id,
    client_secret: `${id}-secret-0123456789`,
    client_name: `Local ${id}`,
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: [GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken],
    redirect_uris: [REDIRECT_URI],
    scope,
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: true,
  });
  return {
    poll: cibaClient("local-poll", {}),
    hostile: cibaClient("local-hostile", {}),
    ping: cibaClient("local-ping", {
      backchannel_token_delivery_mode: "ping",
      backchannel_client_notification_endpoint: `${receiverOrigin}/ping`,
    }),
    push: cibaClient("local-push", {
      grant_types: [GRANT_TYPES.ciba],
      scope: "openid profile email",
      backchannel_token_delivery_mode: "push",
      backchannel_client_notification_endpoint: `${receiverOrigin}/push`,
    }),
    web: codeClient("local-web", "openid profile email offline_access"),
    authenticator: codeClient("local-authenticator", "openid ciba:approve"),
  };
}

/**
 * Settings for a local run whose outside world is the receiver at `receiverOrigin`: the user is
 * notified by webhook at /notify, loopback endpoints are allowed, the Worker does not believe the
 * local runtime's request.cf (as `npm start`).
 */
export function localVars(receiverOrigin: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TRUST_CF_TLS_CLIENT_AUTH: "false",
    ALLOW_HTTP_NOTIFICATION_ENDPOINTS: "true",
    CIBA_NOTIFICATION: "webhook",
    CIBA_WEBHOOK_URL: `${receiverOrigin}/notify`,
    CIBA_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ...extra,
  };
}

/** What the user notification webhook (CIBA_WEBHOOK_URL) sends (src/ciba/notifications.ts). */
export interface LoginNotice {
  internal_id: string;
  subject: string;
  client_id: string;
  binding_message: string | null;
  approval_url: string;
}

/**
 * The notice the user got for the request with `bindingMessage`, sent after `since` (ms): it
 * carries the request's internal id, which the user's pages and the authenticator API use.
 */
export async function waitForNotice(
  receiver: LoopbackReceiver,
  bindingMessage: string,
  since: number,
  timeoutMs = 10_000,
): Promise<LoginNotice> {
  const find = () =>
    receiver
      .received("/notify")
      .filter((r) => r.at >= since && r.status === 200)
      .map((r) => JSON.parse(r.body) as LoginNotice)
      .find((notice) => notice.binding_message === bindingMessage);
  await receiver.waitUntil(() => find() !== undefined, timeoutMs, `the notice for "${bindingMessage}"`);
  return find() as LoginNotice;
}
