/**
 * The JSON API for certificate authorities and client certificates (/admin/api/cas,
 * /admin/api/certificates), on PkiAdmin (src/admin/pki.ts) like the pages, with the same audit
 * rows. A CA's sealed private key never leaves D1; an issued certificate's generated key is in
 * the issuing answer only (PEM and PKCS#12), as on the page. Importing a CA and revoking a
 * certificate ask an admin's session for the password again, as the pages do.
 */
import type { Context, Hono } from "hono";
import { ClientAdmin } from "../../admin/clients";
import { PkiAdmin } from "../../admin/pki";
import type { AppEnv } from "../../http/app-env";
import { NO_STORE } from "../../http/boundary";
import { route } from "../../http/route";
import { PkiInputError } from "../../pki/errors";
import type { StoredCertificateAuthority, StoredClientCertificate } from "../../pki/store";
import { PATHS } from "../../routes";
import { type ApiCaller, apiCaller, fieldError, jsonBody, notFound, requireReauthentication } from "./api-caller";

export function mountPkiApi(app: Hono<AppEnv>): void {
  route(app, PATHS.adminApiCas, { GET: listCas, POST: createOrImportCa });
  route(app, PATHS.adminApiCertificates, { GET: listCertificates, POST: issue });
  route(app, PATHS.adminApiCertificateAttach, { POST: attach });
  route(app, PATHS.adminApiCertificateRevoke, { POST: revoke });
  route(app, PATHS.adminApiCertificate, { GET: getCertificate });
}

function pki(c: Context<AppEnv>, caller: ApiCaller): PkiAdmin {
  const { env, settings } = c.var.ctx;
  return new PkiAdmin(env.DB, caller.store, env.DATA_ENCRYPTION_KEY, settings);
}

function clients(c: Context<AppEnv>, caller: ApiCaller): ClientAdmin {
  return new ClientAdmin(c.var.ctx.env.DB, caller.store, c.var.ctx.env.DATA_ENCRYPTION_KEY);
}

function text(body: Record<string, unknown>, name: string): string | undefined {
  return typeof body[name] === "string" ? body[name] : undefined;
}

/** Validity in days; anything else reaches src/pki/validity.ts as NaN, which names the problem. */
function days(body: Record<string, unknown>): number {
  return typeof body.days === "number" && Number.isSafeInteger(body.days) ? body.days : Number.NaN;
}

/** A CA without its sealed private key. */
function caView(ca: StoredCertificateAuthority) {
  const { private_key_encrypted: _sealed, ...view } = ca;
  return view;
}

function certificateView(certificate: StoredClientCertificate) {
  return { ...certificate, public_jwk: JSON.parse(certificate.public_jwk) as unknown };
}

async function listCas(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  return c.json({ authorities: (await pki(c, caller).authorities()).map(caView) }, 200, NO_STORE);
}

/**
 * `{name, subject, key_algorithm, days}` creates a CA; `{name, certificate, private_key}` (PEM;
 * with `password` for a session) imports one.
 */
async function createOrImportCa(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const store = pki(c, caller);
  const importing = text(body, "certificate") !== undefined;
  if (importing) await requireReauthentication(caller, body, "importing a certificate authority");
  try {
    const ca = importing
      ? await store.importAuthority(
          {
            name: text(body, "name") ?? "",
            certificatePem: text(body, "certificate") ?? "",
            privateKeyPem: text(body, "private_key") ?? "",
          },
          caller.actor,
        )
      : await store.createAuthority(
          {
            name: text(body, "name") ?? "",
            subject: text(body, "subject") ?? "",
            keyAlgorithm: text(body, "key_algorithm") ?? "P-256",
            days: days(body),
          },
          caller.actor,
        );
    return c.json(caView(ca), 201, NO_STORE);
  } catch (error) {
    if (!(error instanceof PkiInputError)) throw error;
    return fieldError(c, error.field, error.message);
  }
}

async function listCertificates(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const caId = c.req.query("ca");
  const list = await pki(c, caller).certificates(caId ? { caId } : {});
  return c.json({ certificates: list.map(certificateView) }, 200, NO_STORE);
}

async function getCertificate(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const certificate = await pki(c, caller).certificate(c.req.param("certificateId") ?? "");
  if (!certificate) return notFound(c, "certificate");
  return c.json(certificateView(certificate), 200, NO_STORE);
}

/**
 * `{ca_id, subject, days, key_algorithm}` (a key generated in the Worker) or `{ca_id, subject,
 * days, csr}`; optional `pfx_password`. The generated key and the .pfx are in this answer only.
 */
async function issue(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const csr = text(body, "csr")?.trim();
  try {
    const issued = await pki(c, caller).issue(
      {
        caId: text(body, "ca_id") ?? "",
        subject: text(body, "subject") ?? "",
        days: days(body),
        key: csr ? { csr } : { generate: text(body, "key_algorithm") ?? "P-256" },
        pkcs12Password: text(body, "pfx_password") || undefined,
      },
      caller.actor,
    );
    return c.json(
      {
        ...certificateView(issued.record),
        private_key_pem: issued.privateKeyPem ?? null,
        pkcs12_base64: issued.pkcs12?.base64 ?? null,
        pkcs12_password: issued.pkcs12?.password ?? null,
      },
      201,
      NO_STORE,
    );
  } catch (error) {
    if (!(error instanceof PkiInputError)) throw error;
    return fieldError(c, error.field, error.message);
  }
}

/** `{client_id}`: a tls_client_auth client by subject DN, a self_signed_tls_client_auth one by JWK. */
async function attach(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  const body = await jsonBody(c);
  const entry = await clients(c, caller).get((text(body, "client_id") ?? "").trim());
  if (!entry) return fieldError(c, "client_id", "no client with this id");
  const store = pki(c, caller);
  const certificate = await store.certificate(c.req.param("certificateId") ?? "");
  if (!certificate) return notFound(c, "certificate");
  const outcome = await store.attach(certificate.id, entry.client, caller.actor);
  if (!outcome.ok) return fieldError(c, "client_id", outcome.message);
  return c.json({ message: outcome.message }, 200, NO_STORE);
}

/** Marks the certificate revoked and removes its client's binding (password again for a session). */
async function revoke(c: Context<AppEnv>) {
  const caller = await apiCaller(c);
  await requireReauthentication(caller, await jsonBody(c), "revoking a certificate");
  const store = pki(c, caller);
  const certificate = await store.certificate(c.req.param("certificateId") ?? "");
  if (!certificate) return notFound(c, "certificate");
  const bound = certificate.client_id ? await clients(c, caller).get(certificate.client_id) : undefined;
  await store.revoke(certificate.id, bound?.client, caller.actor);
  return c.json(certificateView((await store.certificate(certificate.id)) ?? certificate), 200, NO_STORE);
}
