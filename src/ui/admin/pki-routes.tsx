/**
 * The console's certificate routes (issue 17, docs/admin-console.md): CAs created or
 * imported, client certificates issued from them and downloaded once (PEM and .pfx as data:
 * links in the answer, so no key is ever stored), attached to clients and revoked. Operator
 * mistakes (PkiInputError) are shown beside their field, never as a 5xx.
 */
import type { Context, Handler, Hono } from "hono";
import { ClientAdmin } from "../../admin/clients";
import { PkiAdmin } from "../../admin/pki";
import type { AppEnv } from "../../http/app-env";
import { route } from "../../http/route";
import { PkiInputError } from "../../pki/errors";
import { PATHS } from "../../routes";
import { MessagePage } from "../layout";
import { render } from "../page";
import type { Admin } from "./guard";
import { reauthenticated } from "./guard";
import { CaListPage, CaPage, CertificateListPage, CertificatePage, IssuedPage } from "./pki-pages";

type Form = { get(name: string): string | undefined };
type Page = (handler: (c: Context<AppEnv>, admin: Admin) => Promise<Response>) => Handler<AppEnv>;
type FormPage = (handler: (c: Context<AppEnv>, admin: Admin, form: Form) => Promise<Response>) => Handler<AppEnv>;

export function mountCertificatePages(app: Hono<AppEnv>, adminPage: Page, adminForm: FormPage): void {
  route(app, PATHS.adminCas, { GET: adminPage(listCas), POST: adminForm(createCa) });
  route(app, PATHS.adminCaImport, { POST: adminForm(importCa) });
  route(app, PATHS.adminCaCertificate, { GET: adminPage(downloadCa) });
  route(app, PATHS.adminCa, { GET: adminPage(showCa) });
  route(app, PATHS.adminCertificates, { GET: adminPage(listCertificates), POST: adminForm(issue) });
  route(app, PATHS.adminCertificatePem, { GET: adminPage(downloadCertificate) });
  route(app, PATHS.adminCertificateAttach, { POST: adminForm(attach) });
  route(app, PATHS.adminCertificateRevoke, { POST: adminForm(revoke) });
  route(app, PATHS.adminCertificate, { GET: adminPage(showCertificate) });
}

function pki(c: Context<AppEnv>, admin: Admin): PkiAdmin {
  const { env, settings } = c.var.ctx;
  return new PkiAdmin(env.DB, admin.store, env.DATA_ENCRYPTION_KEY, settings);
}

function frame(admin: Admin) {
  return { adminName: admin.adminName, csrf: admin.csrf };
}

function days(form: Form, fallback: number): number {
  const value = Number.parseInt(form.get("days") ?? "", 10);
  // Out of range values reach src/pki/validity.ts, which names the problem.
  return Number.isSafeInteger(value) ? value : fallback === 0 ? Number.NaN : fallback;
}

async function notFound(c: Context<AppEnv>, what: string) {
  return render(c, <MessagePage title={`No such ${what}`} message="It may have been removed." />, 404);
}

async function listCas(c: Context<AppEnv>, admin: Admin) {
  return render(c, <CaListPage {...frame(admin)} authorities={await pki(c, admin).authorities()} />);
}

async function createCa(c: Context<AppEnv>, admin: Admin, form: Form) {
  const store = pki(c, admin);
  try {
    const ca = await store.createAuthority(
      {
        name: form.get("name") ?? "",
        subject: form.get("subject") ?? "",
        keyAlgorithm: form.get("key_algorithm") ?? "",
        days: days(form, 0),
      },
      admin.actor,
    );
    return c.redirect(c.var.ctx.routes.path("adminCa", { caId: ca.id }), 303);
  } catch (error) {
    if (!(error instanceof PkiInputError)) throw error;
    const page = (
      <CaListPage
        {...frame(admin)}
        authorities={await store.authorities()}
        form="create"
        error={{ field: error.field, message: error.message }}
      />
    );
    return render(c, page, 400);
  }
}

async function importCa(c: Context<AppEnv>, admin: Admin, form: Form) {
  const store = pki(c, admin);
  const refuse = async (field: string, message: string, status: 400 | 401) =>
    render(
      c,
      <CaListPage {...frame(admin)} authorities={await store.authorities()} form="import" error={{ field, message }} />,
      status,
    );
  if (!(await reauthenticated(admin, form.get("password")))) {
    return refuse("password", "That is not your password. Nothing was imported.", 401);
  }
  try {
    const ca = await store.importAuthority(
      {
        name: form.get("name") ?? "",
        certificatePem: form.get("certificate") ?? "",
        privateKeyPem: form.get("private_key") ?? "",
      },
      admin.actor,
    );
    return c.redirect(c.var.ctx.routes.path("adminCa", { caId: ca.id }), 303);
  } catch (error) {
    if (!(error instanceof PkiInputError)) throw error;
    return refuse(error.field, error.message, 400);
  }
}

async function showCa(c: Context<AppEnv>, admin: Admin) {
  const store = pki(c, admin);
  const ca = await store.authority(c.req.param("caId") ?? "");
  if (!ca) return notFound(c, "certificate authority");
  return render(c, <CaPage {...frame(admin)} ca={ca} certificates={await store.certificates({ caId: ca.id })} />);
}

function pemDownload(c: Context<AppEnv>, pem: string, filename: string) {
  return c.body(pem, 200, {
    "Content-Type": "application/x-pem-file",
    "Content-Disposition": `attachment; filename="${filename}"`,
  });
}

async function downloadCa(c: Context<AppEnv>, admin: Admin) {
  const ca = await pki(c, admin).authority(c.req.param("caId") ?? "");
  if (!ca) return notFound(c, "certificate authority");
  return pemDownload(c, ca.certificate_pem, "ca.pem");
}

async function listCertificates(c: Context<AppEnv>, admin: Admin) {
  const store = pki(c, admin);
  const [certificates, authorities] = await Promise.all([store.certificates(), store.authorities()]);
  return render(
    c,
    <CertificateListPage
      {...frame(admin)}
      certificates={certificates}
      authorities={authorities}
      selectedCa={c.req.query("ca")}
    />,
  );
}

async function issue(c: Context<AppEnv>, admin: Admin, form: Form) {
  const store = pki(c, admin);
  const keyChoice = form.get("key_algorithm") ?? "";
  const csr = (form.get("csr") ?? "").trim();
  try {
    const issued = await store.issue(
      {
        caId: form.get("ca_id") ?? "",
        subject: form.get("subject") ?? "",
        days: days(form, 0),
        key: keyChoice === "csr" ? { csr } : { generate: keyChoice },
        pkcs12Password: form.get("pfx_password") || undefined,
      },
      admin.actor,
    );
    return render(c, <IssuedPage {...frame(admin)} issued={issued} />, 201);
  } catch (error) {
    if (!(error instanceof PkiInputError)) throw error;
    const [certificates, authorities] = await Promise.all([store.certificates(), store.authorities()]);
    const page = (
      <CertificateListPage
        {...frame(admin)}
        certificates={certificates}
        authorities={authorities}
        selectedCa={form.get("ca_id")}
        error={{ field: error.field, message: error.message }}
        values={{ subject: form.get("subject") ?? "", days: form.get("days") ?? "" }}
      />
    );
    return render(c, page, 400);
  }
}

async function certificatePage(
  c: Context<AppEnv>,
  admin: Admin,
  extra: { notice?: string; error?: { field: string; message: string } } = {},
  status: 200 | 400 | 401 = 200,
) {
  const store = pki(c, admin);
  const certificate = await store.certificate(c.req.param("certificateId") ?? "");
  if (!certificate) return notFound(c, "certificate");
  const others = (await store.activeWithSubject(certificate.subject_dn)).filter((o) => o.id !== certificate.id);
  return render(
    c,
    <CertificatePage {...frame(admin)} certificate={certificate} otherWithSubject={others.length} {...extra} />,
    status,
  );
}

async function showCertificate(c: Context<AppEnv>, admin: Admin) {
  return certificatePage(c, admin);
}

async function downloadCertificate(c: Context<AppEnv>, admin: Admin) {
  const certificate = await pki(c, admin).certificate(c.req.param("certificateId") ?? "");
  if (!certificate) return notFound(c, "certificate");
  return pemDownload(c, certificate.certificate_pem, "certificate.pem");
}

async function attach(c: Context<AppEnv>, admin: Admin, form: Form) {
  const clientId = (form.get("client_id") ?? "").trim();
  const entry = await new ClientAdmin(c.var.ctx.env.DB, admin.store, c.var.ctx.env.DATA_ENCRYPTION_KEY).get(clientId);
  if (!entry)
    return certificatePage(c, admin, { error: { field: "client_id", message: "No client with this ID." } }, 400);
  const outcome = await pki(c, admin).attach(c.req.param("certificateId") ?? "", entry.client, admin.actor);
  if (!outcome.ok) return certificatePage(c, admin, { error: { field: "client_id", message: outcome.message } }, 400);
  return certificatePage(c, admin, { notice: outcome.message });
}

async function revoke(c: Context<AppEnv>, admin: Admin, form: Form) {
  if (!(await reauthenticated(admin, form.get("password")))) {
    const error = { field: "password", message: "That is not your password. Nothing was revoked." };
    return certificatePage(c, admin, { error }, 401);
  }
  const store = pki(c, admin);
  const certificate = await store.certificate(c.req.param("certificateId") ?? "");
  if (!certificate) return notFound(c, "certificate");
  const clients = new ClientAdmin(c.var.ctx.env.DB, admin.store, c.var.ctx.env.DATA_ENCRYPTION_KEY);
  const bound = certificate.client_id ? await clients.get(certificate.client_id) : undefined;
  await store.revoke(certificate.id, bound?.client, admin.actor);
  return certificatePage(c, admin, { notice: "Revoked; the client's binding to it is removed." });
}
