/**
 * A consumption device (a kiosk, a till) for the local provider, built with openid-client:
 *
 *   npm run demo:ciba -- --login-hint alice [--scope "openid profile email"] [--issuer http://localhost:8787]
 *   npm run demo:ciba -- --mtls [--login-hint alice]
 *
 * It starts a backchannel authentication request as the seeded `demo-ciba` client, prints the
 * binding message the user should see on their phone and where they approve, polls the token
 * endpoint until the user answers, and prints the tokens.
 *
 * With --mtls it is the seeded `demo-ciba-mtls` client instead, which authenticates with its
 * TLS client certificate (RFC 8705 tls_client_auth; .dev-certs/demo-ciba-mtls/, made by
 * `npm start -- --mtls`). Discovery still comes from the issuer, http://localhost:8787; the
 * backchannel and token requests go to the `mtls_endpoint_aliases` (https://localhost:8443, the
 * local mTLS proxy) with the certificate. The access token is then bound to that certificate:
 * the demo prints its `cnf` claim and shows /userinfo accepting it with the certificate and
 * refusing it without.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeJwt } from "jose";
import * as client from "openid-client";
import { x5tS256 } from "./lib/certificate-files.ts";
import { type DemoPhone, subscribeDemoPhone } from "./lib/demo-push.ts";
import { DEV_CERTS_DIR } from "./lib/dev-certs.ts";

const { values } = parseArgs({
  options: {
    "login-hint": { type: "string", default: "alice" },
    scope: { type: "string", default: "openid profile email offline_access" },
    issuer: { type: "string", default: "http://localhost:8787" },
    "client-id": { type: "string" },
    "client-secret": { type: "string", default: "demo-ciba-secret" },
    "binding-message": { type: "string" },
    mtls: { type: "boolean", default: false },
    "push-password": { type: "string" },
    "no-push": { type: "boolean", default: false },
    cert: { type: "string", default: join(DEV_CERTS_DIR, "demo-ciba-mtls", "cert.pem") },
    key: { type: "string", default: join(DEV_CERTS_DIR, "demo-ciba-mtls", "key.pem") },
    ca: { type: "string", default: join(DEV_CERTS_DIR, "ca", "cert.pem") },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run demo:ciba -- [--login-hint alice] [--scope "openid profile"] [--issuer URL]
                            [--client-id ID] [--client-secret S] [--binding-message TEXT]
       npm run demo:ciba -- --mtls [--client-id demo-ciba-mtls] [--cert FILE --key FILE] [--ca FILE]

  --mtls   authenticate with a TLS client certificate (tls_client_auth or
           self_signed_tls_client_auth) at the provider's mtls_endpoint_aliases; needs
           \`npm start -- --mtls\`. --cert/--key default to .dev-certs/demo-ciba-mtls/, --ca (what
           the https aliases are trusted with) to .dev-certs/ca/cert.pem. See docs/mtls.md.

  Before the request, a local Web Push receiver (the demo's "phone") is subscribed for the user
  through /api/push/subscriptions, signing in with --push-password (default <login-hint>-password,
  the dev seed's); the push it then receives is decrypted and shown. --no-push skips it.`);
  process.exit(0);
}

const issuer = new URL(values.issuer);
const clientId = values["client-id"] ?? (values.mtls ? "demo-ciba-mtls" : "demo-ciba");
const bindingMessage = values["binding-message"] ?? `Demo kiosk · code ${Math.floor(1000 + Math.random() * 9000)}`;

interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

function readTlsFiles(): TlsFiles {
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      throw new SetupError(`cannot read ${file}. \`npm start -- --mtls\` makes the dev certificates in .dev-certs/.`);
    }
  };
  return { cert: read(values.cert), key: read(values.key), ca: read(values.ca) };
}

class SetupError extends Error {}

/**
 * openid-client's fetch for mutual TLS: node:https with the client certificate and key, trusting
 * the dev CA. Node's built-in fetch cannot be given a client certificate. Plain http URLs (the
 * local issuer's own endpoints) go through node:http. Redirects are returned, not followed, as
 * openid-client asks (`redirect: "manual"`).
 */
function mtlsFetch(tls: TlsFiles): client.CustomFetch {
  const agent = new Agent({ cert: tls.cert, key: tls.key, ca: tls.ca, keepAlive: true });
  return (url, options) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const body = requestBody(options.body);
      const headers: Record<string, string> = { ...options.headers };
      if (body) headers["content-length"] = String(body.byteLength);
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          }
          const status = res.statusCode ?? 502;
          const nullBody = status === 204 || status === 304 || options.method === "HEAD";
          resolve(
            new Response(nullBody ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage,
              headers: responseHeaders,
            }),
          );
        });
      };
      const requestOptions = { method: options.method, headers, signal: options.signal };
      const req =
        target.protocol === "https:"
          ? httpsRequest(target, { ...requestOptions, agent }, onResponse)
          : httpRequest(target, requestOptions, onResponse);
      req.on("error", reject);
      req.end(body);
    });
}

function requestBody(body: client.CustomFetchOptions["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new TypeError("the mTLS fetch does not stream request bodies");
}

async function configure(): Promise<{ config: client.Configuration; tls?: TlsFiles }> {
  const insecure = issuer.protocol === "http:" ? { execute: [client.allowInsecureRequests] } : undefined;
  if (!values.mtls) {
    const config = await client.discovery(
      issuer,
      clientId,
      undefined,
      client.ClientSecretBasic(values["client-secret"]),
      insecure,
    );
    return { config };
  }
  const tls = readTlsFiles();
  // RFC 8705 §5: with use_mtls_endpoint_aliases the token and backchannel requests go to the
  // aliases in the discovery document, where the client certificate is asked for.
  const config = await client.discovery(
    issuer,
    clientId,
    { use_mtls_endpoint_aliases: true },
    client.TlsClientAuth(),
    insecure,
  );
  config[client.customFetch] = mtlsFetch(tls);
  const aliases = config.serverMetadata().mtls_endpoint_aliases;
  const tokenAlias = aliases?.token_endpoint;
  if (!tokenAlias?.startsWith("https:")) {
    throw new SetupError(
      `the provider lists no https mtls_endpoint_aliases (token endpoint alias: ${tokenAlias ?? "none"}). ` +
        "Start it with `npm start -- --mtls`.",
    );
  }
  console.log(
    `mTLS: ${clientId} presents ${values.cert}; token and backchannel requests go to ${new URL(tokenAlias).origin}`,
  );
  return { config, tls };
}

type Tokens = Awaited<ReturnType<typeof client.pollBackchannelAuthenticationGrant>>;

async function showCertificateBinding(config: client.Configuration, tokens: Tokens, tls: TlsFiles) {
  const accessToken = decodeJwt(tokens.access_token);
  const certificateDer = tls.cert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, "");
  const thumbprint = x5tS256(certificateDer);
  const bound = (accessToken.cnf as Record<string, unknown> | undefined)?.["x5t#S256"];
  console.log("\nThe access token's cnf claim (RFC 8705 §3.1, certificate-bound):\n");
  console.log(JSON.stringify({ cnf: accessToken.cnf ?? null }, null, 2));
  console.log(
    bound === thumbprint
      ? `\nx5t#S256 is the SHA-256 thumbprint of ${values.cert}: only a caller presenting that certificate can use the token.`
      : `\nWarning: the token is ${bound === undefined ? "not bound to a certificate" : "bound to another certificate"} (this certificate's x5t#S256 is ${thumbprint}).`,
  );

  const sub = tokens.claims()?.sub;
  if (!sub || !tokens.scope?.split(" ").includes("openid")) return;
  const userinfoAlias = config.serverMetadata().mtls_endpoint_aliases?.userinfo_endpoint;
  try {
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
    console.log(`\n/userinfo with the certificate (${userinfoAlias}): ${JSON.stringify(userinfo)}`);
  } catch (error) {
    console.log(`\n/userinfo with the certificate (${userinfoAlias}) failed: ${describe(error)}`);
  }
  const userinfoPlain = config.serverMetadata().userinfo_endpoint;
  if (userinfoPlain) {
    const response = await fetch(userinfoPlain, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const challenge = response.headers.get("www-authenticate");
    console.log(
      `/userinfo without a certificate (${userinfoPlain}): ${response.status}${challenge ? ` (${challenge})` : ""}`,
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof client.ResponseBodyError) return `${error.error}: ${error.error_description ?? ""}`;
  if (error instanceof client.WWWAuthenticateChallengeError) {
    return error.cause.map((c) => `${c.scheme} ${JSON.stringify(c.parameters)}`).join("; ");
  }
  return error instanceof Error ? error.message : String(error);
}

/** The local receiver standing in for the user's phone, or undefined when it cannot be set up. */
async function demoPhone(): Promise<DemoPhone | undefined> {
  if (values["no-push"]) return undefined;
  const username = values["login-hint"];
  try {
    const phone = await subscribeDemoPhone(issuer, username, values["push-password"] ?? `${username}-password`);
    console.log(`A local Web Push receiver (the demo's phone) is subscribed for "${username}".`);
    return phone;
  } catch (error) {
    console.log(`(No Web Push demo: ${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

async function showPush(phone: DemoPhone): Promise<void> {
  try {
    const notice = await phone.nextNotice(bindingMessage);
    console.log("\nThe phone received a Web Push message (VAPID verified, aes128gcm decrypted):\n");
    console.log(JSON.stringify(notice, null, 2));
    console.log(`\nTapping it opens ${String(notice.approval_url)}\n`);
  } catch (error) {
    console.log(`\n(No push shown: ${error instanceof Error ? error.message : String(error)})`);
  }
}

async function main(): Promise<void> {
  const { config, tls } = await configure();
  const phone = await demoPhone();
  const started = await client.initiateBackchannelAuthentication(config, {
    scope: values.scope,
    login_hint: values["login-hint"],
    binding_message: bindingMessage,
  });
  console.log(`
Backchannel request started for "${values["login-hint"]}" as ${clientId} (expires in ${started.expires_in} s).

  Binding message: ${bindingMessage}

On the user's device, open ${new URL("/ciba", issuer)} , sign in as that user,
check that the request shows the same binding message, and approve or deny it.
(The provider's log also prints the request's own approval URL.)

Polling every ${started.interval ?? 5} s …`);
  if (phone) await showPush(phone);

  const tokens = await client.pollBackchannelAuthenticationGrant(config, started);
  console.log("\nApproved. Token response:\n");
  console.log(JSON.stringify(tokens, null, 2));
  console.log("\nID token claims:\n");
  console.log(JSON.stringify(tokens.claims(), null, 2));
  if (tls) await showCertificateBinding(config, tokens, tls);
  await phone?.close();
}

main().catch((error: unknown) => {
  if (error instanceof client.ResponseBodyError) {
    console.error(`\nThe provider answered ${error.error}: ${error.error_description ?? ""}`);
    if (values.mtls && error.error === "invalid_client") {
      console.error("Is the provider running with `npm start -- --mtls`, and is the certificate the client's?");
    }
  } else if (error instanceof SetupError) {
    console.error(`\n${error.message}`);
  } else {
    console.error(`\n${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof TypeError || (error as NodeJS.ErrnoException).code === "ECONNREFUSED") {
      console.error(`Is the provider running? Start it with npm start${values.mtls ? " -- --mtls" : ""}.`);
    }
  }
  process.exit(1);
});
