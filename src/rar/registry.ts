/**
 * The rich authorization request types of one provider (RFC 9396 §2.1): the built-in types its
 * settings turn on (AUTHORIZATION_DETAILS_BUILTIN_TYPES) and those declared in
 * AUTHORIZATION_DETAILS_TYPES, in one registry built once per env (src/provider/runtime.ts).
 */
import type { Settings } from "../config";
import { type AuthorizationDetailsRegistry, createAuthorizationDetailsRegistry } from "./details";
import { paymentInitiation } from "./payment-initiation";

const BUILTIN = { payment_initiation: paymentInitiation } as const;

export function authorizationDetailsRegistry(settings: Settings): AuthorizationDetailsRegistry {
  const builtins = settings.authorizationDetailsBuiltinTypes.map((name) => BUILTIN[name as keyof typeof BUILTIN]);
  return createAuthorizationDetailsRegistry([...builtins, ...settings.authorizationDetailsTypes], {
    maxLength: settings.authorizationDetailsMaxLength,
    maxDetails: 10,
  });
}
