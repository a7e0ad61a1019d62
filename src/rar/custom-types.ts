/**
 * Authorization details types defined in code by the integrator (createProvider's
 * `authorizationDetailsTypes`), beside the ones settings declare in the schema language of
 * ./schema.ts: for a type JSON shapes cannot describe (`account_information` whose accounts are
 * looked up in the bank's own format, a rule across fields), a validator function decides, and a
 * renderer says in one sentence what the user approves.
 *
 * The validator is the integrator's code, so what it returns is checked like client input before
 * it is kept (RFC 9396 §5: what the user approves and the tokens carry must conform): a JSON
 * object of the same type, every string displayable (no bidi override or zero-width character
 * that could make the consent text say something else), shallow enough to be stored, and no
 * longer than the request may be. A validator or renderer that throws is logged and treated as a
 * refusal (the request gets a 400, never a 500) or as "no renderer" (the generic text).
 */
import { describeError, logger } from "../log";
import { InvalidAuthorizationDetails } from "./errors";
import { type AuthorizationDetail, isPlainObject, undisplayable } from "./schema";

export interface RenderOptions {
  /** BCP 47 locale for numbers, amounts and dates (the page's language). */
  locale: string;
}

/** One authorization details type given in code (RFC 9396 §2.1). */
export interface AuthorizationDetailsTypeOption {
  /** The type name clients send (RFC 9396 §2), listed in discovery (§10.1). */
  type: string;
  /** What the generic text calls it when there is no `render` ("Account access"). */
  label?: string;
  /**
   * RFC 9396 §5: checks one detail of this type as the client sent it (a fresh copy of a JSON
   * object whose `type` is this type; the common fields of §2.2 are the validator's to accept or
   * not) and returns either the detail to keep (what the user approves and the tokens carry:
   * JSON, with the same `type`; it may be normalised) or a short text saying why it is refused,
   * which the client gets as the invalid_authorization_details description (name the field; do
   * not repeat its value).
   */
  validate: (detail: AuthorizationDetail) => AuthorizationDetail | string;
  /** The sentence the user approves (RFC 9396 §3); default: the label and each member. */
  render?: (detail: AuthorizationDetail, options: RenderOptions) => string;
}

/**
 * Levels of objects and arrays a kept detail may have, itself included: stored details cross
 * Durable Object RPC typed to a fixed depth (StoredAuthorizationDetail in ./schema.ts).
 */
const MAX_DEPTH = 4;
/** Longest refusal text passed on to the client. */
const MAX_REASON = 200;

/** RFC 9396 §5 through the integrator's validator: the detail to keep, or a refusal. */
export function validatedByOption(
  option: AuthorizationDetailsTypeOption,
  detail: AuthorizationDetail,
  where: string,
  maxLength: number,
): AuthorizationDetail {
  let result: AuthorizationDetail | string;
  try {
    result = option.validate(structuredClone(detail));
  } catch (error) {
    logger.error("authorization_details_type_failed", { type: option.type, step: "validate", ...describeError(error) });
    throw new InvalidAuthorizationDetails(`${where} could not be validated`);
  }
  if (typeof result === "string") throw new InvalidAuthorizationDetails(`${where}: ${reasonText(result)}`);
  const problem = keptDetailProblem(result, option.type, maxLength);
  if (problem) throw new InvalidAuthorizationDetails(`${where} ${problem}`);
  return JSON.parse(JSON.stringify(result)) as AuthorizationDetail;
}

/** The option's sentence for `detail`, or undefined (no renderer, or one that threw). */
export function renderedByOption(
  option: AuthorizationDetailsTypeOption,
  detail: AuthorizationDetail,
  options: RenderOptions,
): string | undefined {
  if (!option.render) return undefined;
  try {
    return option.render(detail, options);
  } catch (error) {
    logger.error("authorization_details_type_failed", { type: option.type, step: "render", ...describeError(error) });
    return undefined;
  }
}

/** Why the validator's result cannot be kept, or undefined. */
function keptDetailProblem(result: unknown, type: string, maxLength: number): string | undefined {
  if (!isJsonObject(result) || result.type !== type) return "was not accepted by its type's validator";
  const json = jsonProblem(result, 0);
  if (json) return json;
  if (JSON.stringify(result).length > maxLength) return `may be at most ${maxLength} characters`;
  return undefined;
}

function jsonProblem(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : "holds a number that is not finite";
  if (typeof value === "string")
    return undisplayable(value) ? "contains characters that cannot be displayed" : undefined;
  if (!Array.isArray(value) && !isJsonObject(value)) return "is not JSON";
  if (depth >= MAX_DEPTH) return "is nested too deeply";
  for (const member of Object.values(value)) {
    const problem = jsonProblem(member, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** A plain object (not a Date, Map or class instance, which JSON would change or drop). */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The validator's refusal as the client sees it: displayable and bounded. */
function reasonText(reason: string): string {
  const cleaned = [...reason].map((c) => (undisplayable(c) ? " " : c)).join("");
  return cleaned.trim().slice(0, MAX_REASON) || "not accepted";
}
