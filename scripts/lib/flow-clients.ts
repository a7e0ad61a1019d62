/**
 * The clients and settings the fault tests and the soak run edge-op with: one client per kind of
 * flow, with short CIBA polling intervals so flows take seconds, and ping/push endpoints and the
 * user notification webhook on a loopback receiver (scripts/lib/loopback-receiver.ts), which
 * ALLOW_HTTP_NOTIFICATION_ENDPOINTS permits for local runs only.
 */
import { GRANT_TYPES } from "../../src/clients/metadata.ts";
import type { DevClient } from "./dev-seed.ts";

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
