/**
 * The rules of an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1,
 * RFC 7636, RFC 8707), shared by /par and /authorize: RFC 9126 §2.1 asks the PAR endpoint to
 * validate a pushed request exactly as the authorization endpoint would.
 *
 * `checkRedirectUri` runs first: until the redirect URI is known to be the client's, no error
 * may be sent to it (RFC 6749 §4.1.2.1); later errors can be redirected.
 */
import { ACR_VALUES_SUPPORTED, essentialAcrValues, parseAcrValues } from "../authn/acr";
import { type Client, GRANT_TYPES, isLoopback } from "../clients/metadata";
import { checkClientMayHave, parseScope } from "../clients/scopes";
import { parseDpopJkt } from "../dpop/binding";
import {
  InvalidRequest,
  InvalidScope,
  OAuthError,
  UnauthorizedClient,
  UnmetAuthenticationRequirements,
} from "../errors";
import { jarmResponseMode } from "../jarm/response";
import type { FormParams } from "../params/form-params";
import { checkResources } from "../params/resource-indicators";
import type { AuthorizationDetail, AuthorizationDetailsRegistry } from "../rar/details";

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state?: string;
  nonce?: string;
  codeChallenge: string;
  prompt: Prompt[];
  maxAge?: number;
  resources: string[];
  loginHint?: string;
  /**
   * OIDC Core §3.1.2.1 acr_values, in order of preference, then the values of an essential `acr`
   * claim (§5.5.1.1). The code's `acr` is the first of them the authentication met
   * (src/authn/acr.ts), or none; `phr` among them must be met by a passkey step-up at approval.
   */
  acrValues: string[];
  /**
   * The values of an essential `acr` claim (OIDC Core §5.5.1.1), [] when none was asked for.
   * When there are any, the code's `acr` must be one of them, met by the authentication, or the
   * request fails with unmet_authentication_requirements.
   */
  essentialAcr: string[];
  /** RFC 9449 §10: bind the code to this DPoP key (`dpop_jkt`; at /par also the proof's key). */
  dpopJkt?: string;
  /** RFC 9396 §2: what the client asks to do in detail, checked against the declared types. */
  authorizationDetails: AuthorizationDetail[];
}

export type Prompt = "none" | "login" | "consent";
const PROMPTS: readonly string[] = ["none", "login", "consent"];

/** Parameters of an authorization request: the query, a pushed form, or a request object. */
export type AuthorizationParameters = Pick<FormParams, "get" | "getAll">;

export class UnsupportedResponseType extends OAuthError {
  constructor(description: string) {
    super("unsupported_response_type", description);
  }
}

export interface ValidationOptions {
  /** The request was pushed by an authenticated client (RFC 9126 §2.4 may allow any redirect_uri). */
  allowUnregisteredRedirectUri: boolean;
}

/** Step one, on its own: the redirect URI, before which no error may be redirected. */
export function checkRedirectUri(client: Client, params: AuthorizationParameters, options: ValidationOptions): string {
  const redirectUri = params.get("redirect_uri");
  if (!redirectUri) throw new InvalidRequest("redirect_uri is required");
  if (client.redirect_uris.includes(redirectUri)) return redirectUri;
  if (options.allowUnregisteredRedirectUri && isAcceptableRedirectUri(redirectUri)) return redirectUri;
  throw new InvalidRequest("redirect_uri is not registered for this client");
}

/** Every other rule, in order; throws errors that may be sent to the redirect URI. */
export function checkAuthorizationParameters(
  client: Client,
  params: AuthorizationParameters,
  redirectUri: string,
  detailsTypes: AuthorizationDetailsRegistry,
): AuthorizationRequest {
  checkClientMayUseCode(client);
  checkResponseType(params);
  checkNoRequestObject(params);
  const scopes = checkScope(client, params);
  const codeChallenge = checkPkce(params);
  const prompt = checkPrompt(params);
  const acr = checkAcr(params);
  return {
    clientId: client.client_id,
    redirectUri,
    scopes,
    state: checkLength(params, "state", 512),
    nonce: checkLength(params, "nonce", 512),
    codeChallenge,
    prompt,
    maxAge: checkMaxAge(params),
    resources: checkResources(params),
    loginHint: checkLength(params, "login_hint", 256),
    acrValues: acr.values,
    essentialAcr: acr.essential,
    dpopJkt: parseDpopJkt(params.get("dpop_jkt")),
    authorizationDetails: checkAuthorizationDetails(client, params, detailsTypes),
  };
}

/**
 * RFC 9396 §2, §5: `authorization_details` of declared types only, each conforming to its type,
 * and of the types the client registered (`authorization_details_types`, §10.2) when it did.
 */
function checkAuthorizationDetails(
  client: Client,
  params: AuthorizationParameters,
  detailsTypes: AuthorizationDetailsRegistry,
): AuthorizationDetail[] {
  const allowedTypes = client.authorization_details_types;
  return detailsTypes.parse(params.get("authorization_details"), allowedTypes ? { allowedTypes } : {});
}

/**
 * `acr_values` (voluntary), then an essential `acr` claim (OIDC Core §5.5.1.1): "If this is an
 * Essential Claim and the requirement cannot be met, then the Authorization Server MUST treat
 * that outcome as a failed authentication attempt": none of its values is a class edge-op can
 * meet is unmet_authentication_requirements (OpenID Connect Core Unmet Authentication
 * Requirements 1.0 §1) at once.
 */
function checkAcr(params: AuthorizationParameters): { values: string[]; essential: string[] } {
  const essential = essentialAcrValues(params.get("claims"));
  if (essential === undefined) throw new InvalidRequest("claims must be a JSON object (OpenID Connect Core §5.5)");
  if (essential.length > 0 && !essential.some((value) => ACR_VALUES_SUPPORTED.includes(value))) {
    throw new UnmetAuthenticationRequirements("none of the essential acr values can be met here");
  }
  return { values: [...new Set([...parseAcrValues(params.get("acr_values")), ...essential])], essential };
}

function checkClientMayUseCode(client: Client): void {
  if (!client.grant_types.includes(GRANT_TYPES.authorizationCode)) {
    throw new UnauthorizedClient("client is not registered for the authorization_code grant");
  }
}

/** Only the code flow, with the default (query) response mode. */
function checkResponseType(params: AuthorizationParameters): void {
  const responseType = params.get("response_type");
  if (!responseType) throw new InvalidRequest("response_type is required");
  if (responseType !== "code") throw new UnsupportedResponseType("only response_type=code is supported");
  // query, or JARM's jwt / query.jwt (JARM §2.3); anything else is invalid_request.
  jarmResponseMode(params.get("response_mode"));
}

/** RFC 9101 request objects are accepted at /par only; RFC 9126 §3 says request_uri is PAR's. */
function checkNoRequestObject(params: AuthorizationParameters): void {
  if (params.get("request") !== undefined) {
    throw new OAuthError("request_not_supported", "send request objects to the pushed authorization request endpoint");
  }
}

function checkScope(client: Client, params: AuthorizationParameters): string[] {
  const scopes = parseScope(params.get("scope"));
  if (scopes.length === 0) throw new InvalidScope("scope is required");
  checkClientMayHave(client, scopes);
  return scopes;
}

/** RFC 7636 with S256 only: `plain` (and the implied plain of a missing method) is refused. */
function checkPkce(params: AuthorizationParameters): string {
  const challenge = params.get("code_challenge");
  if (!challenge) throw new InvalidRequest("code_challenge is required (PKCE)");
  if (params.get("code_challenge_method") !== "S256") throw new InvalidRequest("code_challenge_method must be S256");
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) throw new InvalidRequest("code_challenge must be a base64url SHA-256");
  return challenge;
}

function checkPrompt(params: AuthorizationParameters): Prompt[] {
  const values = [...new Set((params.get("prompt") ?? "").split(" ").filter(Boolean))];
  const unknown = values.filter((v) => !PROMPTS.includes(v));
  if (unknown.length > 0) throw new InvalidRequest(`unsupported prompt value ${unknown[0]?.slice(0, 40)}`);
  if (values.includes("none") && values.length > 1) throw new InvalidRequest("prompt=none cannot be combined");
  return values as Prompt[];
}

function checkMaxAge(params: AuthorizationParameters): number | undefined {
  const raw = params.get("max_age");
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new InvalidRequest("max_age must be a non-negative integer");
  return Number(raw);
}

function checkLength(params: AuthorizationParameters, name: string, max: number): string | undefined {
  const value = params.get(name);
  if (value !== undefined && value.length > max) throw new InvalidRequest(`${name} is longer than ${max} characters`);
  return value;
}

function isAcceptableRedirectUri(uri: string): boolean {
  const url = URL.parse(uri);
  return url !== null && !uri.includes("#") && (url.protocol === "https:" || isLoopback(url));
}
