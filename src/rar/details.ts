/**
 * Rich authorization requests (RFC 9396): the `authorization_details` a client sends at /par,
 * /authorize or /bc-authorize, checked against the types this deployment declares, shown to the
 * user as text, narrowed to what the user approved, and carried in the tokens.
 *
 * A registry is built once per provider from the type definitions: declared in the schema
 * language (code, such as ./payment-initiation.ts, and settings, through ./type-settings.ts), or
 * given as a validator and a renderer (createProvider's `authorizationDetailsTypes`,
 * ./custom-types.ts). It keeps no other state.
 */
import {
  type AuthorizationDetailsTypeOption,
  type RenderOptions,
  renderedByOption,
  validatedByOption,
} from "./custom-types";
import { InvalidAuthorizationDetails } from "./errors";
import { genericText } from "./render";
import { type AuthorizationDetail, type FieldSpec, isPlainObject, objectProblem } from "./schema";

export type { AuthorizationDetailsTypeOption, RenderOptions } from "./custom-types";
export type { AuthorizationDetail } from "./schema";

/** One type a deployment accepts (RFC 9396 §2.1). */
export interface AuthorizationDetailsType {
  type: string;
  /** What the generic renderer calls it ("Account access"); the type name otherwise. */
  label?: string;
  /** The type's fields. RFC 9396 §2.2's common fields are accepted on every type unless redefined. */
  fields: Readonly<Record<string, FieldSpec>>;
  /** A check JSON cannot express (a checksum, a rule across fields): why it fails, or undefined. */
  validate?: (detail: AuthorizationDetail) => string | undefined;
  /** The sentence the user approves; without it the generic renderer lists the fields. */
  render?: (detail: AuthorizationDetail, options: RenderOptions) => string;
}

/**
 * RFC 9396 §2.2: the common data fields, usable with any type: `locations` (URIs), `actions`,
 * `datatypes`, `privileges` (arrays of strings), `identifier` (a string).
 */
const COMMON_FIELDS: Readonly<Record<string, FieldSpec>> = {
  locations: { kind: "array", items: { kind: "string", maxLength: 2048, pattern: "https?://\\S+" }, maxItems: 10 },
  actions: { kind: "array", items: { kind: "string" } },
  datatypes: { kind: "array", items: { kind: "string" } },
  identifier: { kind: "string" },
  privileges: { kind: "array", items: { kind: "string" } },
};

export interface Limits {
  /** Longest `authorization_details` accepted, in characters of its JSON. */
  maxLength: number;
  /** Most details in one request. */
  maxDetails: number;
}

const DEFAULT_LIMITS: Limits = { maxLength: 8192, maxDetails: 10 };

export interface AuthorizationDetailsRegistry {
  /** RFC 9396 §10.1: `authorization_details_types_supported` for discovery. */
  readonly types: readonly string[];
  parse(value: unknown, options?: { allowedTypes?: readonly string[] }): AuthorizationDetail[];
  render(detail: AuthorizationDetail, options?: RenderOptions): string;
}

/** A type of either kind: declared fields, or the integrator's validator. */
type Definition = AuthorizationDetailsType | AuthorizationDetailsTypeOption;

function isDeclared(definition: Definition): definition is AuthorizationDetailsType {
  return "fields" in definition;
}

/** RFC 9396 §2.1, §10.1: the registry of the types this deployment accepts. */
export function createAuthorizationDetailsRegistry(
  definitions: readonly Definition[],
  limits: Limits = DEFAULT_LIMITS,
): AuthorizationDetailsRegistry {
  const byType = new Map<string, Definition>();
  for (const definition of definitions) {
    if (byType.has(definition.type))
      throw new RangeError(`authorization details type ${definition.type} is declared twice`);
    byType.set(definition.type, definition);
  }
  return {
    types: [...byType.keys()],
    parse: (value, options = {}) => parseAuthorizationDetails(value, byType, limits, options.allowedTypes),
    render(detail, options = { locale: "en" }) {
      const definition = byType.get(detail.type);
      if (!definition) throw new InvalidAuthorizationDetails(`unknown authorization details type`);
      if (!isDeclared(definition)) {
        return (
          renderedByOption(definition, detail, options) ?? genericText(detail, ownFields(detail), definition.label)
        );
      }
      return (
        definition.render?.(detail, options) ??
        genericText(detail, { ...COMMON_FIELDS, ...definition.fields }, definition.label)
      );
    },
  };
}

/** A detail's own members as fields, for the generic text of a type that declares none. */
function ownFields(detail: AuthorizationDetail): Record<string, FieldSpec> {
  const { type: _type, ...members } = detail;
  return Object.fromEntries(Object.keys(members).map((name) => [name, { kind: "string" } as const]));
}

/**
 * RFC 9396 §2 and §5: `value` is the parameter as sent, a JSON string (form parameters) or
 * already an array (a request object's claim). Absent or `[]` is no details. Every detail must
 * be of a declared type the client may use (client metadata `authorization_details_types`,
 * §10.2) and conform to it, else invalid_authorization_details; the result holds nothing else.
 */
function parseAuthorizationDetails(
  value: unknown,
  byType: ReadonlyMap<string, Definition>,
  limits: Limits,
  allowedTypes: readonly string[] | undefined,
): AuthorizationDetail[] {
  if (value === undefined) return [];
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text.length > limits.maxLength) {
    throw new InvalidAuthorizationDetails(`authorization_details may be at most ${limits.maxLength} characters`);
  }
  let parsed: unknown;
  try {
    parsed = typeof value === "string" ? JSON.parse(value) : value;
  } catch {
    throw new InvalidAuthorizationDetails("authorization_details is not JSON");
  }
  if (!Array.isArray(parsed)) throw new InvalidAuthorizationDetails("authorization_details must be a JSON array");
  if (parsed.length > limits.maxDetails) {
    throw new InvalidAuthorizationDetails(`authorization_details may hold at most ${limits.maxDetails} details`);
  }
  return parsed.map((detail, index) => {
    const where = `authorization_details[${index}]`;
    if (!isPlainObject(detail)) throw new InvalidAuthorizationDetails(`${where} must be an object`);
    const { type } = detail;
    if (typeof type !== "string" || type.length === 0)
      throw new InvalidAuthorizationDetails(`${where}.type is required`);
    const definition = byType.get(type);
    if (!definition) throw new InvalidAuthorizationDetails(`${where}.type is not a supported type`);
    if (allowedTypes && !allowedTypes.includes(type)) {
      throw new InvalidAuthorizationDetails(`${where}.type is not allowed for this client`);
    }
    // JSON by construction (parsed from the parameter's text, or a request object's claims).
    if (!isDeclared(definition))
      return validatedByOption(definition, detail as AuthorizationDetail, where, limits.maxLength);
    const { type: _type, ...fields } = detail;
    const problem = objectProblem(fields, { ...COMMON_FIELDS, ...definition.fields }, `${where}.`);
    if (problem) throw new InvalidAuthorizationDetails(problem);
    // Conforming to the spec makes it JSON of the declared shapes; re-encode to drop any
    // prototype or identity the caller's object had.
    const checked = JSON.parse(JSON.stringify(detail)) as AuthorizationDetail;
    const invalid = definition.validate?.(checked);
    if (invalid) throw new InvalidAuthorizationDetails(`${where}: ${invalid}`);
    return checked;
  });
}

/**
 * All or nothing per detail: the details whose index the user approved (a consent form's
 * checkboxes). Indexes out of range are ignored; an empty result means nothing was approved.
 */
export function approvedDetails(
  details: readonly AuthorizationDetail[],
  approved: Iterable<number>,
): AuthorizationDetail[] {
  const chosen = new Set(approved);
  return details.filter((_detail, index) => chosen.has(index));
}

/**
 * RFC 9396 §7 (token response) and §9.1 (JWT access token), §9.2 (introspection): the member
 * `authorization_details` holding what was approved, or nothing when there is none.
 */
export function authorizationDetailsClaim<D extends { type: string }>(
  details: readonly D[],
): {
  authorization_details?: D[];
} {
  return details.length === 0 ? {} : { authorization_details: [...details] };
}
