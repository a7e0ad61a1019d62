/**
 * The client templates the console's "Add client" starts from, mirroring the SimpleIdServer
 * tutorial's choices. A template only prefills the form: what is saved is whatever the operator
 * submits, validated by validateClientRegistration like every client.
 */
import { GRANT_TYPES } from "../clients/metadata";
import type { ClientFormValues } from "./client-form";

export interface ClientTemplate {
  id: string;
  title: string;
  description: string;
  values: ClientFormValues;
}

const BLANK: ClientFormValues = {
  client_id: "",
  client_name: "",
  token_endpoint_auth_method: "client_secret_basic",
  grant_types: [],
  redirect_uris: "",
  scope: "openid",
  jwks: "",
  backchannel_token_delivery_mode: "",
  backchannel_client_notification_endpoint: "",
  backchannel_authentication_request_signing_alg: "",
  backchannel_user_code_parameter: false,
  require_pushed_authorization_requests: false,
  request_object_signing_alg: "",
  fapi_ciba: false,
  tls_client_auth_subject_dn: "",
  profile: "",
  token_endpoint_auth_signing_alg: "",
  dpop_bound_access_tokens: false,
};

export const CLIENT_TEMPLATES: readonly ClientTemplate[] = [
  {
    id: "ciba-fapi",
    title: "CIBA device (FAPI-CIBA)",
    description:
      "A consumption device (kiosk, console app) that starts backchannel requests, authenticates with its TLS client certificate (tls_client_auth) and signs its requests (FAPI-CIBA: register the signing key).",
    values: {
      ...BLANK,
      token_endpoint_auth_method: "tls_client_auth",
      grant_types: [GRANT_TYPES.ciba],
      scope: "openid profile",
      backchannel_token_delivery_mode: "poll",
      backchannel_authentication_request_signing_alg: "PS256",
      fapi_ciba: true,
      tls_client_auth_subject_dn: "CN=client",
    },
  },
  {
    id: "ciba-plain",
    title: "CIBA device (plain)",
    description: "A consumption device that polls for tokens, authenticating with a client secret.",
    values: {
      ...BLANK,
      grant_types: [GRANT_TYPES.ciba],
      scope: "openid profile",
      backchannel_token_delivery_mode: "poll",
    },
  },
  {
    id: "web-par",
    title: "Web app with PAR",
    description: "A server-side web application using the authorization code flow, pushing its requests (RFC 9126).",
    values: {
      ...BLANK,
      grant_types: [GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken],
      redirect_uris: "https://app.example.com/callback",
      scope: "openid profile email",
      require_pushed_authorization_requests: true,
    },
  },
  {
    id: "fapi2-web",
    title: "FAPI 2.0 web app",
    description:
      "A web application under the FAPI 2.0 Security Profile: authorization code with PAR, private_key_jwt (PS256; register its public key) and DPoP-bound tokens. For mTLS instead, choose tls_client_auth with the certificate's subject and untick DPoP: its tokens are then bound to the certificate.",
    values: {
      ...BLANK,
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "PS256",
      grant_types: [GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken],
      redirect_uris: "https://app.example.com/callback",
      scope: "openid profile",
      require_pushed_authorization_requests: true,
      profile: "fapi2",
      dpop_bound_access_tokens: true,
    },
  },
  {
    id: "fapi2-ciba",
    title: "FAPI 2.0 CIBA device",
    description:
      "The tutorial's FAPI2.0 → Device: a consumption device under the FAPI 2.0 Security Profile and FAPI-CIBA, authenticating with its TLS client certificate (tokens bound to it), polling, and signing its requests (register the signing key).",
    values: {
      ...BLANK,
      token_endpoint_auth_method: "tls_client_auth",
      grant_types: [GRANT_TYPES.ciba],
      scope: "openid profile",
      backchannel_token_delivery_mode: "poll",
      backchannel_authentication_request_signing_alg: "PS256",
      fapi_ciba: true,
      tls_client_auth_subject_dn: "CN=client",
      profile: "fapi2",
    },
  },
  {
    id: "machine",
    title: "Machine to machine",
    description: "A service calling APIs on its own behalf (client_credentials).",
    values: { ...BLANK, grant_types: [GRANT_TYPES.clientCredentials], scope: "" },
  },
];

export function clientTemplate(id: string | undefined): ClientTemplate | undefined {
  return CLIENT_TEMPLATES.find((t) => t.id === id);
}
