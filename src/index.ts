/**
 * edge-op, the library: an OpenID Provider (CIBA, PAR + authorization code, mTLS, FAPI-CIBA)
 * for Cloudflare Workers. A Worker builds one (or several, as realms) with createProvider and
 * exports what it returns; docs/integration.md walks through each option. This module exports
 * only: no state, nothing runs on import.
 */

export type { AuthenticatedUser } from "./authorize/authorization";
export { AuthorizationCodeObject } from "./authorize/code-object";
export {
  type AuthorizationAnswer,
  type AuthorizationCompletion,
  AuthorizationInteractionService,
  type AuthorizationRefusal,
  type AuthorizationRequestView,
} from "./authorize/interaction-service";
export {
  BackchannelAuthenticationInteractionService,
  type CompleteLoginRequestInput,
  type CurrentUser,
} from "./ciba/interaction-service";
export type {
  BackchannelAuthenticationRequest,
  CompleteBackchannelLoginRequest,
  CompletionOutcome,
  PollOutcome,
} from "./ciba/model";
export {
  builtInNotificationService,
  LogNotificationService,
  RetryableNotificationError,
  WebhookNotificationService,
} from "./ciba/notifications";
export { DurableObjectBackchannelRequestStore } from "./ciba/request-store";
export { UserCodeAttempts } from "./ciba/user-code-attempts";
export { withinUserCodeLimits } from "./ciba/user-code-limits";
export { DefaultUserValidator } from "./ciba/user-validator";
export type { Client } from "./clients/metadata";
// Registering clients and users in the default D1 stores, for an integrator's own admin code or
// tests (the admin tool, scripts/admin.ts, uses the same): validate, then insert the row made here.
export { type ClientRegistration, validateClientRegistration } from "./clients/metadata";
export { CLIENT_COLUMNS, clientRow, D1ClientStore } from "./clients/registry";
export { ConfigurationError, SETTINGS, type Settings, type SettingsOverrides } from "./config";
export type {
  BackchannelAuthenticationUserNotificationService,
  BackchannelAuthenticationUserValidator,
  BackchannelUserLoginRequest,
  ProviderServices,
  ProviderStores,
  RequestContext,
  UserHint,
  UserValidationContext,
} from "./context";
export type { Bindings } from "./env";
export {
  AccessDenied,
  ExpiredLoginHintToken,
  InvalidBindingMessage,
  InvalidRequest,
  InvalidUserCode,
  MissingUserCode,
  OAuthError,
  UnknownUserId,
} from "./errors";
export { KvPushedAuthorizationRequestStore } from "./par/pushed-request-store";
export { DEFAULT_BINDING_NAMES } from "./provider/bindings";
export { createProvider } from "./provider/create-provider";
export type {
  BindingNames,
  Provider,
  ProviderDurableObjects,
  ProviderInteraction,
  ProviderOptions,
  ServiceOptions,
  StoreContext,
  StoreOptions,
} from "./provider/options";
export type { AuthorizationDetail, AuthorizationDetailsTypeOption, RenderOptions } from "./rar/details";
export { ReplayGuard } from "./replay/replay-guard";
export { PATHS, type RouteName, Routes } from "./routes";
export type {
  BackchannelAuthenticationRequestStore,
  ClientStore,
  CreateOutcome,
  NewBackchannelRequest,
  PendingLimits,
  PushedAuthorizationRequest,
  PushedAuthorizationRequestStore,
  UserStore,
} from "./stores";
export { RefreshTokenFamily } from "./tokens/refresh-token-family";
export { D1UserStore, type UserRegistration, userRow } from "./users/store";
export type { User } from "./users/user";
export { type LiveEvent, type PendingRequest, UserObject, userObjectName } from "./users/user-object";
