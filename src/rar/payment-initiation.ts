/**
 * The example type edge-op ships: `payment_initiation`, with the fields of RFC 9396 §2's
 * example (amounts and names sized as in ISO 20022, which open-banking APIs follow):
 *
 *   { "type": "payment_initiation",
 *     "actions": ["initiate", "status", "cancel"],
 *     "locations": ["https://example.com/payments"],
 *     "instructedAmount": { "currency": "EUR", "amount": "123.50" },
 *     "creditorName": "Merchant A",
 *     "creditorAccount": { "iban": "DE02100100109307118603" },
 *     "remittanceInformationUnstructured": "Ref Number Merchant" }
 *
 * It shows the two things JSON cannot: a validator (the currency's minor unit, a positive
 * amount, the IBAN checksum) and a renderer ("Pay €123.50 to Merchant A, IBAN …8603").
 */
import type { AuthorizationDetail, AuthorizationDetailsType, RenderOptions } from "./details";
import { currencyDigits, formatAmount, lastFour } from "./render";

/** A positive decimal string, at most 15 integer digits and 3 decimals (ISO 20022 amounts). */
const AMOUNT = "(0|[1-9][0-9]{0,14})(\\.[0-9]{1,3})?";
/** ISO 13616 electronic format: country, check digits, up to 30 alphanumerics. */
const IBAN = "[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}";

export const paymentInitiation: AuthorizationDetailsType = {
  type: "payment_initiation",
  label: "Payment",
  fields: {
    actions: { kind: "array", items: { kind: "enum", values: ["initiate", "status", "cancel"] }, maxItems: 3 },
    instructedAmount: {
      kind: "object",
      required: true,
      label: "amount",
      fields: {
        currency: { kind: "string", required: true, pattern: "[A-Z]{3}" },
        amount: { kind: "string", required: true, pattern: AMOUNT },
      },
    },
    creditorName: { kind: "string", required: true, maxLength: 140, label: "payee" },
    creditorAccount: {
      kind: "object",
      required: true,
      label: "payee account",
      fields: { iban: { kind: "string", required: true, pattern: IBAN } },
    },
    remittanceInformationUnstructured: { kind: "string", maxLength: 140, label: "reference" },
  },
  validate: checkPayment,
  render: paymentText,
};

interface Payment {
  currency: string;
  amount: string;
  creditorName: string;
  iban: string;
  reference?: string;
}

/**
 * The members a conforming detail has (the schema made them required strings); undefined only
 * if called with a detail that was not validated.
 */
function paymentOf(detail: AuthorizationDetail): Payment | undefined {
  const amount = detail.instructedAmount as { currency?: unknown; amount?: unknown } | undefined;
  const account = detail.creditorAccount as { iban?: unknown } | undefined;
  const { creditorName, remittanceInformationUnstructured: reference } = detail;
  if (typeof amount?.currency !== "string" || typeof amount.amount !== "string") return undefined;
  if (typeof creditorName !== "string" || typeof account?.iban !== "string") return undefined;
  const payment: Payment = { currency: amount.currency, amount: amount.amount, creditorName, iban: account.iban };
  if (typeof reference === "string") payment.reference = reference;
  return payment;
}

/** RFC 9396 §5 ("fields with invalid values"): what the shapes alone cannot refuse. */
function checkPayment(detail: AuthorizationDetail): string | undefined {
  const payment = paymentOf(detail);
  if (!payment) return "instructedAmount, creditorName and creditorAccount are required";
  const digits = currencyDigits(payment.currency);
  if (digits === undefined) return "instructedAmount.currency is not an ISO 4217 currency";
  const decimals = payment.amount.split(".")[1]?.length ?? 0;
  if (decimals > digits) return `instructedAmount.amount has more than ${digits} decimals for its currency`;
  if (!/[1-9]/.test(payment.amount)) return "instructedAmount.amount must be more than zero";
  if (!ibanChecksumHolds(payment.iban)) return "creditorAccount.iban has a wrong check digit";
  return undefined;
}

/** "Pay €42.00 to ACME Ltd, IBAN …1234, reference “Invoice 7”". */
function paymentText(detail: AuthorizationDetail, options: RenderOptions): string {
  const payment = paymentOf(detail);
  if (!payment) return "Payment (details missing)";
  const text = `Pay ${formatAmount(payment.amount, payment.currency, options.locale)} to ${payment.creditorName}, IBAN ${lastFour(payment.iban)}`;
  return payment.reference === undefined ? text : `${text}, reference “${payment.reference}”`;
}

/**
 * ISO 13616 / ISO 7064 MOD 97-10: move the first four characters to the end, replace letters by
 * 10..35, and the number must leave 1 when divided by 97 (computed digit by digit: it is longer
 * than any safe integer).
 */
export function ibanChecksumHolds(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = Number.parseInt(char, 36);
    if (Number.isNaN(value)) return false;
    for (const digit of String(value)) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}
