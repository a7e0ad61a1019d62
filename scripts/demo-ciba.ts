/**
 * A consumption device (a kiosk, a till) for the local provider, built with openid-client:
 *
 *   npm run demo:ciba -- --login-hint alice [--scope "openid profile email"] [--issuer http://localhost:8787]
 *
 * It starts a backchannel authentication request as the seeded `demo-ciba` client, prints the
 * binding message the user should see on their phone and where they approve, polls the token
 * endpoint until the user answers, and prints the tokens.
 */
import { parseArgs } from "node:util";
import * as client from "openid-client";

const { values } = parseArgs({
  options: {
    "login-hint": { type: "string", default: "alice" },
    scope: { type: "string", default: "openid profile email offline_access" },
    issuer: { type: "string", default: "http://localhost:8787" },
    "client-id": { type: "string", default: "demo-ciba" },
    "client-secret": { type: "string", default: "demo-ciba-secret" },
    "binding-message": { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log('usage: npm run demo:ciba -- [--login-hint alice] [--scope "openid profile"] [--issuer URL]');
  process.exit(0);
}

const issuer = new URL(values.issuer);
const bindingMessage = values["binding-message"] ?? `Demo kiosk · code ${Math.floor(1000 + Math.random() * 9000)}`;

async function main(): Promise<void> {
  const config = await client.discovery(
    issuer,
    values["client-id"],
    undefined,
    client.ClientSecretBasic(values["client-secret"]),
    issuer.protocol === "http:" ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  const started = await client.initiateBackchannelAuthentication(config, {
    scope: values.scope,
    login_hint: values["login-hint"],
    binding_message: bindingMessage,
  });
  console.log(`
Backchannel request started for "${values["login-hint"]}" (expires in ${started.expires_in} s).

  Binding message: ${bindingMessage}

On the user's device, open ${new URL("/ciba", issuer)} , sign in as that user,
check that the request shows the same binding message, and approve or deny it.
(The provider's log also prints the request's own approval URL.)

Polling every ${started.interval ?? 5} s …`);

  const tokens = await client.pollBackchannelAuthenticationGrant(config, started);
  console.log("\nApproved. Token response:\n");
  console.log(JSON.stringify(tokens, null, 2));
  console.log("\nID token claims:\n");
  console.log(JSON.stringify(tokens.claims(), null, 2));
}

main().catch((error: unknown) => {
  if (error instanceof client.ResponseBodyError) {
    console.error(`\nThe provider answered ${error.error}: ${error.error_description ?? ""}`);
  } else {
    console.error(`\n${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof TypeError) console.error(`Is the provider running? Start it with npm start.`);
  }
  process.exit(1);
});
