/**
 * Authentication context classes (`acr`, OpenID Connect Core §2): the one place that says which
 * classes edge-op can satisfy and which authentication meets each. Discovery publishes them as
 * `acr_values_supported`; tokens carry an `acr` only when the authentication actually performed
 * (its `amr`, RFC 8176) meets one of the classes the client asked for.
 *
 * `acr_values` is a voluntary request (OIDC Core §3.1.2.1, §5.5.1.1; CIBA §7.1): a request
 * naming classes edge-op cannot meet is served anyway, and its tokens simply carry no `acr`.
 * The client sees what was achieved and decides. Two exceptions make a class a condition rather
 * than a wish: `phr` (REQUIRED_AT_APPROVAL below), and an *essential* `acr` in the `claims`
 * parameter (OIDC Core §5.5.1.1), of which edge-op reads only that member (essentialAcrValues).
 */

export interface AcrClass {
  /** The `acr` value. */
  value: string;
  /** What it means, for docs and operators. */
  description: string;
  /** RFC 8176 `amr` values, any one of which, in the authentication performed, meets the class. */
  metBy: readonly string[];
}

/** Password sign-in. */
export const ACR_PASSWORD = "urn:edge-op:acr:pwd";

/** OpenID EAP ACR Values 1.0 §2: phishing-resistant. Met only by a passkey step-up (src/webauthn/amr.ts). */
export const ACR_PHISHING_RESISTANT = "phr";

export const ACR_CLASSES: readonly AcrClass[] = [
  {
    value: ACR_PASSWORD,
    description: "The user signed in with edge-op's password form (amr pwd): single-factor, knowledge-based.",
    metBy: ["pwd"],
  },
  {
    value: ACR_PHISHING_RESISTANT,
    description:
      "Phishing-resistant (OpenID EAP ACR Values): the user approved with a passkey (WebAuthn, origin-bound) and user verification, in this interaction (amr pop, user, mfa).",
    metBy: ["pop"],
  },
];

/**
 * Classes that are a condition of approval, not just a report of it: a request naming one can be
 * approved only by an authentication that meets it (for phr, a passkey assertion made for this
 * approval). Denying needs nothing.
 */
export const REQUIRED_AT_APPROVAL: readonly string[] = [ACR_PHISHING_RESISTANT];

/** The class among `requested` that the approval must meet but `amr` does not, if any. */
export function unmetRequiredAcr(requested: readonly string[], amr: readonly string[]): string | undefined {
  return requested.find((value) => REQUIRED_AT_APPROVAL.includes(value) && satisfiedAcr([value], amr) === undefined);
}

/** Whether the approval of a request naming `requested` needs a step-up (one of them is REQUIRED_AT_APPROVAL). */
export function stepUpRequired(requested: readonly string[]): boolean {
  return requested.some((value) => REQUIRED_AT_APPROVAL.includes(value));
}

/** Discovery's `acr_values_supported`. */
export const ACR_VALUES_SUPPORTED: readonly string[] = ACR_CLASSES.map((c) => c.value);

/**
 * The `acr` to state: the first of the requested classes, in the client's order of preference,
 * that the performed authentication (`amr`) meets; undefined when none is met or none was asked
 * for. Unknown values are never met.
 */
export function satisfiedAcr(requested: readonly string[], amr: readonly string[]): string | undefined {
  for (const value of requested) {
    const known = ACR_CLASSES.find((c) => c.value === value);
    if (known?.metBy.some((method) => amr.includes(method))) return value;
  }
  return undefined;
}

/** `acr_values` as sent: space-separated, duplicates dropped, order kept. */
export function parseAcrValues(raw: string | undefined): string[] {
  return [...new Set((raw ?? "").split(" ").filter(Boolean))];
}

/**
 * OIDC Core §5.5.1.1: the `acr` values the `claims` parameter (§5.5, a JSON object) asks for as
 * an Essential Claim of the ID Token (`"acr": {"essential": true, "values": [...]}` or `"value"`),
 * or [] when it asks for none; undefined when `raw` is not a claims request at all (not JSON,
 * not an object, members of the wrong type). The other members are not read: edge-op returns
 * the claims its scopes give.
 */
export function essentialAcrValues(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(value)) return undefined;
  const idToken = value.id_token ?? null;
  const userinfo = value.userinfo ?? null;
  if ((idToken !== null && !isObject(idToken)) || (userinfo !== null && !isObject(userinfo))) return undefined;
  const acr = idToken?.acr ?? null;
  if (acr === null) return [];
  if (!isObject(acr)) return undefined;
  const { essential, value: one, values } = acr;
  if (essential !== undefined && typeof essential !== "boolean") return undefined;
  if (one !== undefined && typeof one !== "string") return undefined;
  if (values !== undefined && !(Array.isArray(values) && values.every((v) => typeof v === "string"))) return undefined;
  if (essential !== true) return [];
  return [...new Set([...(one === undefined ? [] : [one]), ...((values as string[] | undefined) ?? [])])];
}
