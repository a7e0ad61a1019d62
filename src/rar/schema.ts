/**
 * A small schema language for the authorization details types a deployment declares (RFC 9396
 * §2, §5): each field has a kind (string, number, enum, array, object), may be required, and has
 * bounds. It is plain JSON, so a type can come from a setting as well as from code; what JSON
 * cannot say (a checksum, a rule across fields) goes in the type's `validate` function.
 *
 * It is deliberately smaller than JSON Schema: every value the user is asked to approve must be
 * displayable, so strings are bounded and may not carry control, format (bidi override, zero
 * width) or separator characters, which could make the consent text say something else than the
 * data the token will carry (e.g. an IBAN reversed on screen by U+202E).
 */
import { ParseProblem } from "../parse";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [member: string]: JsonValue };

/** RFC 9396 §2: one authorization detail, after validation. */
export type AuthorizationDetail = { type: string } & { [member: string]: JsonValue };

interface FieldBase {
  /** Refused when missing (RFC 9396 §5: "is missing required fields"). */
  required?: boolean;
  /** The name shown to the user by the generic renderer; the member name otherwise. */
  label?: string;
}

export type FieldSpec =
  | (FieldBase & { kind: "string"; maxLength?: number; pattern?: string })
  | (FieldBase & { kind: "number"; min?: number; max?: number; integer?: boolean })
  | (FieldBase & { kind: "enum"; values: readonly string[] })
  | (FieldBase & { kind: "array"; items: FieldSpec; maxItems?: number })
  | (FieldBase & { kind: "object"; fields: Readonly<Record<string, FieldSpec>> });

/** Bounds for a field that states none. */
export const DEFAULT_MAX_LENGTH = 256;
export const DEFAULT_MAX_ITEMS = 20;

/** Characters that must never reach a consent page: see the top of this file. */
const UNDISPLAYABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

/** True when `text` holds a character that must never reach a consent page. */
export function undisplayable(text: string): boolean {
  return UNDISPLAYABLE.test(text);
}

/**
 * RFC 9396 §5: checks `value` against `spec`; returns why it does not conform (naming `path`),
 * or undefined. Objects may hold only the fields their spec lists ("containing unknown fields").
 */
export function fieldProblem(value: unknown, spec: FieldSpec, path: string): string | undefined {
  switch (spec.kind) {
    case "string": {
      if (typeof value !== "string") return `${path} must be a string`;
      if (value.length === 0 || value.length > (spec.maxLength ?? DEFAULT_MAX_LENGTH)) {
        return `${path} must be 1 to ${spec.maxLength ?? DEFAULT_MAX_LENGTH} characters`;
      }
      if (UNDISPLAYABLE.test(value)) return `${path} contains characters that cannot be displayed`;
      if (spec.pattern !== undefined && !anchored(spec.pattern).test(value))
        return `${path} is not in the expected format`;
      return undefined;
    }
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return `${path} must be a number`;
      if (spec.integer && !Number.isInteger(value)) return `${path} must be an integer`;
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        return `${path} is out of range`;
      }
      return undefined;
    }
    case "enum":
      return typeof value === "string" && spec.values.includes(value)
        ? undefined
        : `${path} must be one of ${spec.values.join(", ")}`;
    case "array": {
      if (!Array.isArray(value)) return `${path} must be an array`;
      if (value.length > (spec.maxItems ?? DEFAULT_MAX_ITEMS)) return `${path} has too many entries`;
      for (const [index, item] of value.entries()) {
        const problem = fieldProblem(item, spec.items, `${path}[${index}]`);
        if (problem) return problem;
      }
      return undefined;
    }
    case "object":
      if (!isPlainObject(value)) return `${path} must be an object`;
      return objectProblem(value, spec.fields, `${path}.`);
  }
}

/** RFC 9396 §5 for the members of an object: none unknown, none required missing, each valid. */
export function objectProblem(
  value: Record<string, unknown>,
  fields: Readonly<Record<string, FieldSpec>>,
  prefix: string,
): string | undefined {
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(fields, name)) return `${prefix}${name} is not a field of this type`;
  }
  for (const [name, spec] of Object.entries(fields)) {
    if (!Object.hasOwn(value, name)) {
      if (spec.required) return `${prefix}${name} is required`;
      continue;
    }
    const problem = fieldProblem(value[name], spec, `${prefix}${name}`);
    if (problem) return problem;
  }
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A pattern matches the whole value: "[A-Z]{3}" must not accept "xEURx". */
export function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

/**
 * A stored authorization detail read back (a code, a refresh-token family, a backchannel
 * request): an object with a string `type` whose members are JSON. It was checked against its
 * type when the client sent it; this only guards the shape edge-op wrote.
 */
/**
 * JSON to a fixed depth, for values that cross Durable Object RPC: its types cannot follow the
 * recursive JsonValue ("type instantiation is excessively deep"). Deep enough for every field
 * the schema language can declare (an array of objects of arrays).
 */
type Json0 = string | number | boolean | null;
type Json1 = Json0 | Json0[] | { [member: string]: Json0 };
type Json2 = Json1 | Json1[] | { [member: string]: Json1 };
type Json3 = Json2 | Json2[] | { [member: string]: Json2 };
export type StoredAuthorizationDetail = { type: string } & { [member: string]: Json3 };

export function storedAuthorizationDetail(value: unknown, at: string): StoredAuthorizationDetail {
  if (!isPlainObject(value) || typeof value.type !== "string" || !isJson(value)) {
    throw new ParseProblem(`${at}: expected an authorization detail`);
  }
  return value as StoredAuthorizationDetail;
}

function isJson(value: unknown): boolean {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return true;
  if (Array.isArray(value)) return value.every(isJson);
  return isPlainObject(value) && Object.values(value).every(isJson);
}

/**
 * A checked detail in the type that crosses Durable Object RPC. The same JSON value: only the
 * TypeScript type changes (from recursive JsonValue to the fixed-depth one), so it is a widening
 * the compiler cannot see, not an unchecked read.
 */
export function forStorage(details: readonly AuthorizationDetail[]): StoredAuthorizationDetail[] {
  return details.map((detail) => detail as unknown as StoredAuthorizationDetail);
}
