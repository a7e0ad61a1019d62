/**
 * Rich authorization request types given in code (createProvider's `authorizationDetailsTypes`):
 * an integrator adds `account_information` with a validator (returns the detail to keep, or why
 * it is refused) and a renderer (the sentence the user approves), beside the settings' types.
 * Built as an integrator would build it: a provider of its own, at /rar-custom, in workerd with
 * the real D1, KV and Durable Objects.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuthorizationDetail, type AuthorizationDetailsTypeOption, createProvider } from "../src/index";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody } from "./helpers/http";

const ACTIONS: Record<string, string> = {
  list_accounts: "your account list",
  read_balances: "balances",
  read_transactions: "transactions",
};
const IBAN = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/;

/** The integrator's type: the actions it knows, optional IBANs; duplicates folded (normalised). */
const accountInformation: AuthorizationDetailsTypeOption = {
  type: "account_information",
  label: "Account access",
  validate(detail) {
    const { type, actions, accounts, ...rest } = detail;
    if (Object.keys(rest).length > 0) return "only actions and accounts are fields of account_information";
    if (!Array.isArray(actions) || actions.length === 0) return "actions must be a non-empty array";
    if (actions.some((action) => typeof action !== "string" || !(action in ACTIONS))) {
      return `actions must be among ${Object.keys(ACTIONS).join(", ")}`;
    }
    if (accounts !== undefined) {
      if (!Array.isArray(accounts) || accounts.some((a) => typeof a !== "string" || !IBAN.test(a))) {
        return "accounts must be IBANs";
      }
    }
    return { type, actions: [...new Set(actions as string[])], ...(accounts === undefined ? {} : { accounts }) };
  },
  render(detail) {
    const what = (detail.actions as string[]).map((action) => ACTIONS[action]).join(" and ");
    const accounts = Array.isArray(detail.accounts)
      ? ` of account ${detail.accounts.map((a) => `…${String(a).slice(-4)}`).join(", ")}`
      : "";
    return `Read ${what}${accounts}`;
  },
};

/** Validators that misbehave: the result is checked, and a throw is a refusal, not a 500. */
const misbehaving: AuthorizationDetailsTypeOption[] = [
  { type: "renames_type", validate: () => ({ type: "payment_initiation", amount: "1" }) },
  { type: "passes_through", validate: (detail) => detail },
  {
    type: "throws",
    validate: () => {
      throw new Error("validator bug");
    },
  },
];

const custom = createProvider<Cloudflare.Env>({
  basePath: "/rar-custom",
  authorizationDetailsTypes: [accountInformation, ...misbehaving],
});
const CUSTOM_ISSUER = `${ISSUER}/rar-custom`;
const SECRET = "rar-custom-secret-0123456789";
const NOOR = { username: "noor-rar", password: "noor-rar-password" };
let noor = "";

beforeAll(async () => {
  await registerClient({
    client_id: "rar-custom-till",
    client_name: "Account aggregator",
    client_secret: SECRET,
    grant_types: ["urn:openid:params:grant-type:ciba"],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
    scope: "openid",
  });
  await registerClient({
    client_id: "rar-custom-web",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: ["https://aggregator.example/cb"],
    scope: "openid",
  });
  noor = await registerUser(NOOR);
});

function post(path: string, params: Record<string, string>) {
  return custom.fetch(
    new Request(`${ISSUER}/rar-custom${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...basic("rar-custom-till", SECRET) },
      body: new URLSearchParams(params).toString(),
    }),
    env,
  );
}

async function backchannel(details: unknown) {
  const response = await post("/bc-authorize", {
    scope: "openid",
    login_hint: NOOR.username,
    authorization_details: JSON.stringify(details),
  });
  return jsonOf<OAuthErrorBody & { auth_req_id: string }>(response);
}

const reading = {
  type: "account_information",
  actions: ["read_balances", "read_transactions", "read_balances"],
  accounts: ["DE02100100109307118603"],
};
const kept = {
  type: "account_information",
  actions: ["read_balances", "read_transactions"],
  accounts: reading.accounts,
};

describe("createProvider's authorizationDetailsTypes (RFC 9396 types given in code)", () => {
  it("§10.1: discovery lists a type given in code beside the settings' types", async () => {
    const response = await custom.fetch(new Request(`${CUSTOM_ISSUER}/.well-known/openid-configuration`), env);
    const metadata = (await response.json()) as { authorization_details_types_supported: string[] };
    expect(metadata.authorization_details_types_supported).toEqual(
      expect.arrayContaining(["payment_initiation", "account_information"]),
    );
  });

  it("§5 through the integrator's validator: its refusal text is the invalid_authorization_details description", async () => {
    const refused = await backchannel([{ type: "account_information", actions: ["move_money"] }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("invalid_authorization_details");
    expect(refused.body.error_description).toBe(
      "authorization_details[0]: actions must be among list_accounts, read_balances, read_transactions",
    );
  });

  it("§2, §7, §9.1: the validator's result (normalised) is what the user approves and the token carries", async () => {
    const started = await backchannel([reading]);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const interaction = custom.interaction(env).backchannel;
    const [pending] = await interaction.getPendingLoginRequestsForCurrentUser({ subject: noor });
    expect(pending?.authorizationDetails).toEqual([kept]);
    // The renderer's sentence goes with the request to the pages, the authenticator API and notices.
    expect(pending?.authorizationDetailsText).toEqual(["Read balances and transactions of account …8603"]);
    await interaction.completeLoginRequest(
      { internalId: pending?.internalId ?? "", scopesValuesConsented: ["openid"] },
      { subject: noor, sessionId: "sess-rar-custom", authTime: Math.floor(Date.now() / 1000), amr: ["pwd"] },
    );
    const tokens = await jsonOf<{ access_token: string; authorization_details: unknown }>(
      await post("/token", { grant_type: "urn:openid:params:grant-type:ciba", auth_req_id: started.body.auth_req_id }),
    );
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(tokens.body.authorization_details).toEqual([kept]);
    const claims = decodeJwt(tokens.body.access_token);
    expect(claims.iss).toBe(CUSTOM_ISSUER);
    expect(claims.authorization_details).toEqual([kept]);
  });

  it("§2, §5 at /par: the same validator decides a pushed request's details", async () => {
    const push = async (details: unknown) =>
      jsonOf<OAuthErrorBody & { request_uri?: string }>(
        await custom.fetch(
          new Request(`${CUSTOM_ISSUER}/par`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", ...basic("rar-custom-web", SECRET) },
            body: new URLSearchParams({
              response_type: "code",
              client_id: "rar-custom-web",
              redirect_uri: "https://aggregator.example/cb",
              scope: "openid",
              code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
              code_challenge_method: "S256",
              authorization_details: JSON.stringify(details),
            }).toString(),
          }),
          env,
        ),
      );
    const accepted = await push([reading]);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    const refused = await push([{ type: "account_information", actions: [] }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("invalid_authorization_details");
    expect(refused.body.error_description).toBe("authorization_details[0]: actions must be a non-empty array");
  });

  it("§3: the type's renderer gives the sentence the user approves; without one, the label and members", () => {
    const registry = custom.context(env).authorizationDetails;
    expect(registry.render(kept as AuthorizationDetail)).toBe("Read balances and transactions of account …8603");
    expect(registry.render({ type: "passes_through", note: "x" })).toBe("passes_through: note: x");
  });

  it("§5: what a validator returns is checked like client input: same type, displayable text", async () => {
    const renamed = await backchannel([{ type: "renames_type" }]);
    expect(renamed.status).toBe(400);
    expect(renamed.body.error).toBe("invalid_authorization_details");
    // U+202E (right-to-left override) would show "…3068" reversed on the consent page.
    const bidi = await backchannel([{ type: "passes_through", payee: "ACME \u202eLtd" }]);
    expect(bidi.status).toBe(400);
    expect(bidi.body.error_description).toMatch(/cannot be displayed/);
  });

  it("a validator that throws refuses the request with 400 invalid_authorization_details, never a 500", async () => {
    const thrown = await backchannel([{ type: "throws" }]);
    expect(thrown.status).toBe(400);
    expect(thrown.body.error).toBe("invalid_authorization_details");
    expect(thrown.body.error_description).toBe("authorization_details[0] could not be validated");
  });

  it("a type name given both in code and in settings is refused when the provider is built", () => {
    const twice = createProvider<Cloudflare.Env>({
      authorizationDetailsTypes: [{ ...accountInformation, type: "payment_initiation" }],
    });
    expect(() => twice.context(env)).toThrow(/payment_initiation is declared twice/);
  });
});
