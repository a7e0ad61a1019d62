/**
 * The rich authorization request types of one provider (RFC 9396 §2.1): the built-in types its
 * settings turn on (AUTHORIZATION_DETAILS_BUILTIN_TYPES), those declared in
 * AUTHORIZATION_DETAILS_TYPES, and those given in code (createProvider's
 * `authorizationDetailsTypes`), in one registry built once per env (src/provider/runtime.ts). A
 * type name given twice fails when the registry is built.
 */
import type { Settings } from "../config";
import type { AuthorizationDetailsTypeOption } from "./custom-types";
import { type AuthorizationDetailsRegistry, createAuthorizationDetailsRegistry } from "./details";
import { paymentInitiation } from "./payment-initiation";

const BUILTIN = { payment_initiation: paymentInitiation } as const;

export function authorizationDetailsRegistry(
  settings: Settings,
  inCode: readonly AuthorizationDetailsTypeOption[] = [],
): AuthorizationDetailsRegistry {
  const builtins = settings.authorizationDetailsBuiltinTypes.map((name) => BUILTIN[name as keyof typeof BUILTIN]);
  return createAuthorizationDetailsRegistry([...builtins, ...settings.authorizationDetailsTypes, ...inCode], {
    maxLength: settings.authorizationDetailsMaxLength,
    maxDetails: 10,
  });
}
