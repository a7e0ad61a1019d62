/**
 * Authorization details types declared in a setting (RFC 9396 §2.1: the AS decides which types
 * it accepts and what they contain): a JSON array of `{type, label?, fields}` in the schema
 * language of ./schema.ts, e.g.
 *
 *   [{"type": "account_information", "label": "Account access",
 *     "fields": {"actions": {"kind": "array", "items": {"kind": "enum",
 *                 "values": ["list_accounts", "read_balances"]}}}}]
 *
 * Everything is checked here, members included, so a typo ("maxlength") fails when the provider
 * is built (RangeError naming the path) instead of silently admitting longer values later. The
 * result is built from the checked values, never the input cast to a type.
 */
import type { AuthorizationDetailsType } from "./details";
import { anchored, type FieldSpec, isPlainObject } from "./schema";

/** RFC 9396 §2.1: type names are strings; ours stay short and printable. */
const TYPE_NAME = /^[\w.:/-]{1,100}$/;

export function parseTypeDefinitions(json: string): AuthorizationDetailsType[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new RangeError("authorization details types must be JSON");
  }
  if (!Array.isArray(parsed)) throw new RangeError("authorization details types must be a JSON array");
  return parsed.map((entry: unknown, index) => {
    const path = `types[${index}]`;
    if (!isPlainObject(entry)) throw new RangeError(`${path} must be an object`);
    onlyMembers(entry, ["type", "label", "fields"], path);
    if (typeof entry.type !== "string" || !TYPE_NAME.test(entry.type))
      throw new RangeError(`${path}.type must be a name`);
    const definition: AuthorizationDetailsType = { type: entry.type, fields: fieldsOf(entry.fields, `${path}.fields`) };
    if (entry.label !== undefined) definition.label = text(entry.label, `${path}.label`);
    return definition;
  });
}

function fieldsOf(value: unknown, path: string): Record<string, FieldSpec> {
  if (!isPlainObject(value)) throw new RangeError(`${path} must be an object`);
  const fields: Record<string, FieldSpec> = {};
  for (const [name, spec] of Object.entries(value)) fields[name] = fieldSpecOf(spec, `${path}.${name}`);
  return fields;
}

/** One field's spec, checked member by member and rebuilt. */
function fieldSpecOf(spec: unknown, path: string): FieldSpec {
  if (!isPlainObject(spec)) throw new RangeError(`${path} must be an object`);
  const base: { required?: boolean; label?: string } = {};
  if (spec.required !== undefined) {
    if (typeof spec.required !== "boolean") throw new RangeError(`${path}.required must be true or false`);
    base.required = spec.required;
  }
  if (spec.label !== undefined) base.label = text(spec.label, `${path}.label`);
  const common = ["kind", "required", "label"];
  switch (spec.kind) {
    case "string": {
      onlyMembers(spec, [...common, "maxLength", "pattern"], path);
      const field: FieldSpec = { ...base, kind: "string" };
      if (spec.maxLength !== undefined) field.maxLength = positiveInteger(spec.maxLength, `${path}.maxLength`);
      if (spec.pattern !== undefined) {
        field.pattern = text(spec.pattern, `${path}.pattern`);
        anchored(field.pattern); // a malformed pattern throws SyntaxError here, not per request
      }
      return field;
    }
    case "number": {
      onlyMembers(spec, [...common, "min", "max", "integer"], path);
      const field: FieldSpec = { ...base, kind: "number" };
      if (spec.min !== undefined) field.min = finite(spec.min, `${path}.min`);
      if (spec.max !== undefined) field.max = finite(spec.max, `${path}.max`);
      if (spec.integer !== undefined) {
        if (typeof spec.integer !== "boolean") throw new RangeError(`${path}.integer must be true or false`);
        field.integer = spec.integer;
      }
      return field;
    }
    case "enum": {
      onlyMembers(spec, [...common, "values"], path);
      const { values } = spec;
      if (!Array.isArray(values) || values.length === 0)
        throw new RangeError(`${path}.values must be a non-empty array`);
      return { ...base, kind: "enum", values: values.map((value, i) => text(value, `${path}.values[${i}]`)) };
    }
    case "array": {
      onlyMembers(spec, [...common, "items", "maxItems"], path);
      const field: FieldSpec = { ...base, kind: "array", items: fieldSpecOf(spec.items, `${path}.items`) };
      if (spec.maxItems !== undefined) field.maxItems = positiveInteger(spec.maxItems, `${path}.maxItems`);
      return field;
    }
    case "object":
      onlyMembers(spec, [...common, "fields"], path);
      return { ...base, kind: "object", fields: fieldsOf(spec.fields, `${path}.fields`) };
    default:
      throw new RangeError(`${path}.kind must be string, number, enum, array or object`);
  }
}

function onlyMembers(value: Record<string, unknown>, allowed: readonly string[], path: string): void {
  const unknown = Object.keys(value).find((name) => !allowed.includes(name));
  if (unknown !== undefined) throw new RangeError(`${path}.${unknown} is not a member of this kind`);
}

function text(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length === 0) throw new RangeError(`${path} must be a non-empty string`);
  return value;
}

function positiveInteger(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${path} must be a positive integer`);
  }
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RangeError(`${path} must be a number`);
  return value;
}
