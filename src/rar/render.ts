/**
 * Authorization details as text a user can read and approve (RFC 9396 §3: the AS asks the user
 * to consent to what the details describe, so what they read must say exactly what the token
 * will carry). The text is plain: the page that shows it escapes it as any other text.
 */
import { type AuthorizationDetail, type FieldSpec, isPlainObject, type JsonValue } from "./schema";

/**
 * An amount in its currency, formatted for `locale` by Intl.NumberFormat: "€42.00" (en),
 * "42,00 €" (de). `amount` is the decimal string of the request, formatted as a string so no
 * digit is lost to binary floating point (Intl.NumberFormat takes decimal strings exactly).
 */
export function formatAmount(amount: string, currency: string, locale: string): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(amount as `${number}`);
}

/** The minor unit of an ISO 4217 currency (EUR 2, JPY 0, BHD 3), as Intl knows it. */
export function currencyDigits(currency: string): number | undefined {
  if (!Intl.supportedValuesOf("currency").includes(currency)) return undefined;
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

/** An account number shown by its last four characters: "…1234". */
export function lastFour(account: string): string {
  return `…${account.slice(-4)}`;
}

/**
 * The text of a type without a renderer of its own: its label, then each field present, in the
 * order the type declares them, by label: "Account access: actions: list_accounts,
 * read_balances; locations: https://example.com/accounts".
 */
export function genericText(
  detail: AuthorizationDetail,
  fields: Readonly<Record<string, FieldSpec>>,
  label: string | undefined,
): string {
  const parts: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const value = detail[name];
    if (value !== undefined) parts.push(`${spec.label ?? name}: ${valueText(value)}`);
  }
  return parts.length === 0 ? (label ?? detail.type) : `${label ?? detail.type}: ${parts.join("; ")}`;
}

function valueText(value: JsonValue): string {
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  if (isPlainObject(value)) {
    return Object.entries(value)
      .map(([name, member]) => `${name} ${valueText(member as JsonValue)}`)
      .join(", ");
  }
  return String(value);
}
