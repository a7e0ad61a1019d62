/**
 * Rich authorization requests (RFC 9396) through the provider: `authorization_details` at
 * /bc-authorize, /par and /authorize, checked against the declared types (payment_initiation
 * is on in the test settings), shown to the user as a sentence, and carried, once approved, in
 * the token response (§7) and the access token (§9.1), also after a refresh.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, poll } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "rar-client-secret-0123456789";
const CALLBACK = "https://shop.example/cb";
const LEA = { username: "lea-rar", password: "lea-rar-password" };
let lea = "";

const payment = {
  type: "payment_initiation",
  actions: ["initiate"],
  instructedAmount: { currency: "EUR", amount: "42.00" },
  creditorName: "ACME Ltd",
  creditorAccount: { iban: "DE02100100109307118603" },
};

beforeAll(async () => {
  await registerClient({
    client_id: "rar-pos",
    client_name: "Payment till",
    client_secret: SECRET,
    grant_types: ["urn:openid:params:grant-type:ciba", "refresh_token"],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
    scope: "openid offline_access",
    authorization_details_types: ["payment_initiation"],
  });
  await registerClient({
    client_id: "rar-web",
    client_name: "Web shop",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid",
  });
  await registerClient({
    client_id: "no-rar",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid",
    authorization_details_types: [],
  });
  lea = await registerUser(LEA);
});

async function approveAll(subject: string) {
  const interaction = new BackchannelAuthenticationInteractionService(env);
  for (const request of await interaction.getPendingLoginRequestsForCurrentUser({ subject })) {
    await interaction.completeLoginRequest(
      { internalId: request.internalId, scopesValuesConsented: request.requestedScopes },
      { subject, sessionId: "sess-rar", authTime: Math.floor(Date.now() / 1000), amr: ["pwd"] },
    );
  }
}

describe("RFC 9396 at /bc-authorize (CIBA)", () => {
  it("§7, §9.1: the approved payment is in the token response, the access token, and after a refresh", async () => {
    const { status, body } = await backchannel("rar-pos", SECRET, {
      scope: "openid offline_access",
      login_hint: LEA.username,
      authorization_details: JSON.stringify([payment]),
    });
    expect(status).toBe(200);
    const interaction = new BackchannelAuthenticationInteractionService(env);
    const [pending] = await interaction.getPendingLoginRequestsForCurrentUser({ subject: lea });
    expect(pending?.authorizationDetails).toEqual([payment]);
    await approveAll(lea);
    const tokens = await poll("rar-pos", SECRET, body.auth_req_id);
    expect(tokens.status).toBe(200);
    const response = tokens.body as unknown as {
      authorization_details: unknown;
      access_token: string;
      refresh_token: string;
    };
    expect(response.authorization_details).toEqual([payment]);
    expect(decodeJwt(response.access_token).authorization_details).toEqual([payment]);

    const refreshed = await jsonOf<{ access_token: string; authorization_details: unknown }>(
      await postForm(
        "/token",
        { grant_type: "refresh_token", refresh_token: response.refresh_token },
        basic("rar-pos", SECRET),
      ),
    );
    expect(refreshed.body.authorization_details).toEqual([payment]);
    expect(decodeJwt(refreshed.body.access_token).authorization_details).toEqual([payment]);
  });

  it("§5: an unknown type is refused with invalid_authorization_details", async () => {
    const { status, body } = await backchannel("rar-pos", SECRET, {
      scope: "openid",
      login_hint: LEA.username,
      authorization_details: JSON.stringify([{ type: "account_information" }]),
    });
    expect(status).toBe(400);
    expect((body as unknown as OAuthErrorBody).error).toBe("invalid_authorization_details");
  });

  it("§5: a payment with a wrong IBAN check digit is refused", async () => {
    const { status, body } = await backchannel("rar-pos", SECRET, {
      scope: "openid",
      login_hint: LEA.username,
      authorization_details: JSON.stringify([{ ...payment, creditorAccount: { iban: "DE03100100109307118603" } }]),
    });
    expect(status).toBe(400);
    expect((body as unknown as OAuthErrorBody).error).toBe("invalid_authorization_details");
  });

  it("§5: authorization_details that is not a JSON array is refused", async () => {
    const { status, body } = await backchannel("rar-pos", SECRET, {
      scope: "openid",
      login_hint: LEA.username,
      authorization_details: "{not json",
    });
    expect(status).toBe(400);
    expect((body as unknown as OAuthErrorBody).error).toBe("invalid_authorization_details");
  });
});

describe("RFC 9396 at /par and /authorize", () => {
  async function pushed(clientId: string, details: unknown) {
    const { verifier, challenge } = await pkce();
    const response = await postForm(
      "/par",
      {
        response_type: "code",
        redirect_uri: CALLBACK,
        scope: "openid",
        code_challenge: challenge,
        code_challenge_method: "S256",
        authorization_details: JSON.stringify(details),
      },
      basic(clientId, SECRET),
    );
    return { ...(await jsonOf<{ request_uri: string } & OAuthErrorBody>(response)), verifier };
  }

  it("§10.2: a type the client did not register is refused at /par", async () => {
    const { status, body } = await pushed("no-rar", [payment]);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_authorization_details");
  });

  it("the consent page shows the payment as a sentence; the code's tokens carry it", async () => {
    const { status, body, verifier } = await pushed("rar-web", [payment]);
    expect(status).toBe(201);
    const pages: string[] = [];
    // A browser that keeps every page it was shown, to read the consent page afterwards.
    class RecordingBrowser extends Browser {
      override async get(path: string): Promise<Response> {
        const response = await super.get(path);
        pages.push(await response.clone().text());
        return response;
      }
    }
    const url = `${ISSUER}/authorize?client_id=rar-web&request_uri=${encodeURIComponent(body.request_uri)}`;
    const done = await walk(new RecordingBrowser(), url, LEA);
    const consent = pages.find((html) => html.includes('name="decision"')) ?? "";
    expect(consent).toContain("Pay €42.00 to ACME Ltd, IBAN …8603");
    const code = new URL(done.headers.get("location") ?? "").searchParams.get("code") ?? "";
    const tokens = await jsonOf<{ access_token: string; authorization_details: unknown }>(
      await postForm(
        "/token",
        { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
        basic("rar-web", SECRET),
      ),
    );
    expect(tokens.body.authorization_details).toEqual([payment]);
    expect(decodeJwt(tokens.body.access_token).authorization_details).toEqual([payment]);
  });

  it("discovery lists authorization_details_types_supported", async () => {
    const metadata = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(metadata.authorization_details_types_supported).toEqual(["payment_initiation"]);
  });
});
