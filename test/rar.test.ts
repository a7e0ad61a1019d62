/**
 * RFC 9396 rich authorization requests: authorization_details parsed and checked against the
 * declared types (§2, §2.2, §5), the readable text the user approves (§3), narrowing to what was
 * approved, and the claim the tokens carry (§7, §9.1).
 */
import { describe, expect, it } from "vitest";
import { approvedDetails, authorizationDetailsClaim, createAuthorizationDetailsRegistry } from "../src/rar/details";
import { InvalidAuthorizationDetails } from "../src/rar/errors";
import { ibanChecksumHolds, paymentInitiation } from "../src/rar/payment-initiation";
import { parseTypeDefinitions } from "../src/rar/type-settings";

/** RFC 9396 §2's example, with a payee and amount of our own. */
const payment = {
  type: "payment_initiation",
  actions: ["initiate", "status", "cancel"],
  locations: ["https://example.com/payments"],
  instructedAmount: { currency: "EUR", amount: "42.00" },
  creditorName: "ACME Ltd",
  creditorAccount: { iban: "DE47370400440532011234" },
  remittanceInformationUnstructured: "Invoice 7",
};

const accountInformation = parseTypeDefinitions(
  JSON.stringify([
    {
      type: "account_information",
      label: "Account access",
      fields: {
        actions: {
          kind: "array",
          items: { kind: "enum", values: ["list_accounts", "read_balances", "read_transactions"] },
        },
        maxDaysBack: { kind: "number", integer: true, min: 1, max: 365, label: "days of history" },
      },
    },
  ]),
);
const registry = createAuthorizationDetailsRegistry([paymentInitiation, ...accountInformation]);
const with_ = (changes: Record<string, unknown>) => JSON.stringify([{ ...payment, ...changes }]);

/** Expects `value` to be refused with invalid_authorization_details, its description matching. */
function refused(value: unknown, description: RegExp, allowedTypes?: readonly string[]) {
  let error: unknown;
  try {
    registry.parse(value, { allowedTypes });
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(InvalidAuthorizationDetails);
  const { code, status, description: actual } = error as InvalidAuthorizationDetails;
  expect({ code, status }).toEqual({ code: "invalid_authorization_details", status: 400 });
  expect(actual).toMatch(description);
}

describe("RFC 9396 §2, §5: parsing and validating authorization_details", () => {
  it("accepts RFC 9396 §2's payment_initiation and a declared type from a setting; discovery lists both (§10.1)", () => {
    expect(registry.parse(JSON.stringify([payment]))).toEqual([payment]);
    const both = [payment, { type: "account_information", actions: ["list_accounts"], maxDaysBack: 90 }];
    expect(registry.parse(both)).toEqual(both); // a request object's claim is already JSON
    expect(registry.types).toEqual(["payment_initiation", "account_information"]);
    expect(registry.parse(undefined)).toEqual([]);
    expect(registry.parse("[]")).toEqual([]);
  });

  it("§5: refuses what is not a JSON array of objects with a type", () => {
    refused("{", /not JSON/);
    refused('{"type":"payment_initiation"}', /array/);
    refused("[1]", /\[0\] must be an object/);
    refused('[{"amount":"1"}]', /\[0\]\.type is required/);
    refused('[{"type":""}]', /type is required/);
  });

  it("§5: refuses an unknown type, and a type the client did not register (§10.2)", () => {
    refused('[{"type":"bank_loan"}]', /not a supported type/);
    refused(JSON.stringify([payment]), /not allowed for this client/, ["account_information"]);
    expect(registry.parse(JSON.stringify([payment]), { allowedTypes: ["payment_initiation"] })).toHaveLength(1);
  });

  it("§5: refuses unknown fields, missing required fields, wrong types and invalid values", () => {
    refused(with_({ interestRate: 3 }), /interestRate is not a field/);
    refused(
      with_({ instructedAmount: { currency: "EUR", amount: "1", fee: "2" } }),
      /instructedAmount\.fee is not a field/,
    );
    refused(with_({ creditorName: undefined }), /creditorName is required/);
    refused(with_({ instructedAmount: { currency: "EUR" } }), /instructedAmount\.amount is required/);
    refused(with_({ instructedAmount: { currency: "EUR", amount: 42 } }), /amount must be a string/);
    refused(with_({ creditorName: "x".repeat(141) }), /creditorName must be 1 to 140/);
    refused(with_({ actions: ["initiate", "refund"] }), /actions\[1\] must be one of initiate, status, cancel/);
    refused(with_({ locations: ["ftp://example.com"] }), /locations\[0\] is not in the expected format/);
    refused(with_({ instructedAmount: { currency: "eur", amount: "1" } }), /currency is not in the expected format/);
    refused(JSON.stringify([{ type: "account_information", maxDaysBack: 400 }]), /maxDaysBack is out of range/);
    refused(JSON.stringify([{ type: "account_information", maxDaysBack: 1.5 }]), /maxDaysBack must be an integer/);
  });

  it("§5 through the type's validator: currency, minor units, a positive amount, the IBAN check digits", () => {
    refused(with_({ instructedAmount: { currency: "XYZ", amount: "1" } }), /not an ISO 4217 currency/);
    refused(with_({ instructedAmount: { currency: "EUR", amount: "1.005" } }), /more than 2 decimals/);
    refused(with_({ instructedAmount: { currency: "JPY", amount: "100.5" } }), /more than 0 decimals/);
    refused(with_({ instructedAmount: { currency: "EUR", amount: "0.00" } }), /more than zero/);
    refused(with_({ creditorAccount: { iban: "DE47370400440532011235" } }), /check digit/);
    expect(ibanChecksumHolds("GB82WEST12345698765432")).toBe(true);
    expect(ibanChecksumHolds("GB82WEST12345698765433")).toBe(false);
  });

  it("refuses text that would display as something else: control, bidi-override, zero-width characters", () => {
    for (const name of ["ACME\u202ELtd", "ACME\u200BLtd", "ACME\nLtd", "ACME\u0000", "\uD800"]) {
      refused(with_({ creditorName: name }), /cannot be displayed/);
    }
  });

  it("refuses oversized requests: too many details, too long", () => {
    refused(JSON.stringify(Array.from({ length: 11 }, () => payment)), /at most 10 details/);
    refused(with_({ remittanceInformationUnstructured: "x".repeat(9000) }), /at most 8192 characters/);
    refused(with_({ actions: ["initiate", "status", "cancel", "status"] }), /too many entries/);
  });

  it("refuses a types setting that is malformed, at start-up", () => {
    for (const bad of ["{", "{}", '[{"fields":{}}]', '[{"type":"t","fields":{"a":{"kind":"date"}}}]']) {
      expect(() => parseTypeDefinitions(bad)).toThrow();
    }
    expect(() => parseTypeDefinitions('[{"type":"t","fields":{"a":{"kind":"enum","values":[]}}}]')).toThrow(/values/);
    expect(() => parseTypeDefinitions('[{"type":"t","fields":{"a":{"kind":"string","pattern":"("}}}]')).toThrow();
    // A misspelt member would otherwise leave the field unbounded.
    expect(() => parseTypeDefinitions('[{"type":"t","fields":{"a":{"kind":"string","maxlength":5}}}]')).toThrow(
      /a\.maxlength is not a member/,
    );
    expect(() => createAuthorizationDetailsRegistry([paymentInitiation, paymentInitiation])).toThrow(/twice/);
  });
});

describe("RFC 9396 §3: the text the user approves", () => {
  it("payment_initiation reads as a payment: amount in its currency (Intl.NumberFormat), payee, IBAN ending, reference", () => {
    const [detail] = registry.parse(JSON.stringify([payment]));
    if (!detail) throw new Error("no detail");
    expect(registry.render(detail)).toBe("Pay €42.00 to ACME Ltd, IBAN …1234, reference “Invoice 7”");
    expect(registry.render(detail, { locale: "de-DE" })).toBe(
      "Pay 42,00\u00a0€ to ACME Ltd, IBAN …1234, reference “Invoice 7”",
    );
    const [yen] = registry.parse(
      with_({ instructedAmount: { currency: "JPY", amount: "1500" }, remittanceInformationUnstructured: undefined }),
    );
    if (!yen) throw new Error("no detail");
    expect(registry.render(yen)).toBe("Pay ¥1,500 to ACME Ltd, IBAN …1234");
    // Decimal strings are formatted exactly, not through a binary float.
    const [large] = registry.parse(with_({ instructedAmount: { currency: "EUR", amount: "999999999999999.99" } }));
    if (!large) throw new Error("no detail");
    expect(registry.render(large)).toContain("€999,999,999,999,999.99");
  });

  it("a type without a renderer lists its fields by label", () => {
    const [detail] = registry.parse(
      JSON.stringify([{ type: "account_information", actions: ["list_accounts", "read_balances"], maxDaysBack: 90 }]),
    );
    if (!detail) throw new Error("no detail");
    expect(registry.render(detail)).toBe("Account access: actions: list_accounts, read_balances; days of history: 90");
  });
});

describe("narrowing to what the user approved, and the token claim (§7, §9.1)", () => {
  const details = registry.parse(
    JSON.stringify([payment, { type: "account_information", actions: ["list_accounts"] }]),
  );

  it("keeps exactly the details the user approved, each whole", () => {
    expect(approvedDetails(details, [1])).toEqual([details[1]]);
    expect(approvedDetails(details, [0, 1, 7])).toEqual(details);
    expect(approvedDetails(details, [])).toEqual([]);
  });

  it("puts approved details in authorization_details, and nothing when none", () => {
    expect(authorizationDetailsClaim(approvedDetails(details, [0]))).toEqual({ authorization_details: [payment] });
    expect(authorizationDetailsClaim([])).toEqual({});
  });
});
