/** The console's certificate pages: CAs (create, import, details) and client certificates. */
import type { IssuedCertificate } from "../../admin/pki";
import { GENERATED_KEY_ALGORITHMS } from "../../pki/keys";
import type { StoredCertificateAuthority, StoredClientCertificate } from "../../pki/store";
import { useRoutes } from "../routes-context";
import { type AdminFrame, AdminLayout, FieldError, formatTime, ReauthField } from "./layout";

type Frame = Omit<AdminFrame, "section">;
export interface FormError {
  field: string;
  message: string;
}

const errorFor = (error: FormError | undefined, field: string) => (error?.field === field ? error.message : undefined);

export function CaListPage(
  props: Frame & { authorities: StoredCertificateAuthority[]; error?: FormError; form?: "create" | "import" },
) {
  const routes = useRoutes();
  const createError = props.form === "create" ? props.error : undefined;
  const importError = props.form === "import" ? props.error : undefined;
  return (
    <AdminLayout {...props} section="adminCas" title="Certificate authorities">
      <h1>Certificate authorities</h1>
      {props.authorities.length === 0 ? (
        <p class="muted">No certificate authority yet: create or import one below.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Subject</th>
              <th scope="col">Key</th>
              <th scope="col">Valid until</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.authorities.map((ca) => (
              <tr>
                <td>
                  <a href={routes.path("adminCa", { caId: ca.id })}>{ca.name}</a>
                </td>
                <td>
                  <code>{ca.subject_dn}</code>
                </td>
                <td>{ca.key_algorithm}</td>
                <td>{formatTime(ca.not_after)}</td>
                <td>{ca.retired_at ? "retired" : ca.origin}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form method="post" action={routes.path("adminCas")}>
        <fieldset>
          <legend>Create a certificate authority</legend>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="ca-name">Name</label>
          <input type="text" id="ca-name" name="name" value="Client CA" />
          <label for="ca-subject">Subject</label>
          <input type="text" id="ca-subject" name="subject" value="CN=edge-op client CA" />
          <FieldError id="ca-subject" message={errorFor(createError, "subject")} />
          <label for="ca-key">Key</label>
          <select id="ca-key" name="key_algorithm">
            {GENERATED_KEY_ALGORITHMS.map((alg) => (
              <option value={alg}>{alg}</option>
            ))}
          </select>
          <FieldError id="ca-key" message={errorFor(createError, "key_algorithm")} />
          <label for="ca-days">Validity (days)</label>
          <input type="text" id="ca-days" name="days" value="3650" inputmode="numeric" />
          <FieldError id="ca-days" message={errorFor(createError, "validity")} />
          <div class="actions">
            <button type="submit" class="primary">
              Create
            </button>
          </div>
        </fieldset>
      </form>
      <form method="post" action={routes.path("adminCaImport")}>
        <fieldset>
          <legend>Import a certificate authority</legend>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="import-name">Name</label>
          <input type="text" id="import-name" name="name" />
          <label for="import-certificate">Certificate (PEM)</label>
          <textarea id="import-certificate" name="certificate" rows={6} />
          <FieldError id="import-certificate" message={errorFor(importError, "certificate")} />
          <label for="import-key">Private key (PKCS#8 PEM, unencrypted; stored encrypted)</label>
          <textarea id="import-key" name="private_key" rows={6} />
          <FieldError id="import-key" message={errorFor(importError, "private_key")} />
          <ReauthField error={errorFor(importError, "password")} />
          <div class="actions">
            <button type="submit" class="primary">
              Import
            </button>
          </div>
        </fieldset>
      </form>
    </AdminLayout>
  );
}

export function CaPage(props: Frame & { ca: StoredCertificateAuthority; certificates: StoredClientCertificate[] }) {
  const routes = useRoutes();
  const { ca } = props;
  return (
    <AdminLayout {...props} section="adminCas" title={ca.name}>
      <h1>{ca.name}</h1>
      <dl class="props">
        <dt>Subject</dt>
        <dd>
          <code>{ca.subject_dn}</code>
        </dd>
        <dt>Key</dt>
        <dd>{ca.key_algorithm}</dd>
        <dt>Origin</dt>
        <dd>{ca.origin}</dd>
        <dt>Valid</dt>
        <dd>{`${formatTime(ca.not_before)} to ${formatTime(ca.not_after)}`}</dd>
        <dt>Certificates issued</dt>
        <dd>{String(props.certificates.length)}</dd>
      </dl>
      <div class="actions">
        <a class="button secondary" href={routes.path("adminCaCertificate", { caId: ca.id })} download="ca.pem">
          Download certificate
        </a>
        <a class="button primary" href={`${routes.path("adminCertificates")}?ca=${encodeURIComponent(ca.id)}`}>
          Add client certificate
        </a>
      </div>
      <p class="hint">
        For tls_client_auth clients behind Cloudflare, the edge must trust this CA: see docs/mtls.md, "A CA made in the
        admin console". Only the certificate leaves edge-op; the private key stays in D1, encrypted.
      </p>
    </AdminLayout>
  );
}

export function CertificateListPage(
  props: Frame & {
    certificates: StoredClientCertificate[];
    authorities: StoredCertificateAuthority[];
    selectedCa?: string;
    error?: FormError;
    values?: { subject: string; days: string };
  },
) {
  const routes = useRoutes();
  const active = props.authorities.filter((ca) => ca.retired_at === null);
  return (
    <AdminLayout {...props} section="adminCertificates" title="Client certificates">
      <h1>Client certificates</h1>
      {props.certificates.length === 0 ? (
        <p class="muted">None issued yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">Valid until</th>
              <th scope="col">Client</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.certificates.map((certificate) => (
              <tr>
                <td>
                  <a href={routes.path("adminCertificate", { certificateId: certificate.id })}>
                    {certificate.subject_dn}
                  </a>
                </td>
                <td>{formatTime(certificate.not_after)}</td>
                <td>{certificate.client_id ?? ""}</td>
                <td>{certificate.revoked_at ? "revoked" : "active"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {active.length === 0 ? (
        <p>
          <a href={routes.path("adminCas")}>Create a certificate authority</a> first.
        </p>
      ) : (
        <form method="post" action={routes.path("adminCertificates")}>
          <fieldset>
            <legend>Add client certificate</legend>
            <input type="hidden" name="csrf" value={props.csrf} />
            <label for="cert-ca">Certificate authority</label>
            <select id="cert-ca" name="ca_id">
              {active.map((ca) => (
                <option value={ca.id} selected={ca.id === props.selectedCa}>
                  {`${ca.name} (${ca.subject_dn})`}
                </option>
              ))}
            </select>
            <FieldError id="cert-ca" message={errorFor(props.error, "certificate")} />
            <label for="cert-subject">Subject name</label>
            <input type="text" id="cert-subject" name="subject" value={props.values?.subject ?? "CN=client"} />
            <FieldError id="cert-subject" message={errorFor(props.error, "subject")} />
            <label for="cert-days">Validity (days)</label>
            <input type="text" id="cert-days" name="days" value={props.values?.days ?? "365"} inputmode="numeric" />
            <FieldError id="cert-days" message={errorFor(props.error, "validity")} />
            <label for="cert-key">Key</label>
            <select id="cert-key" name="key_algorithm">
              {GENERATED_KEY_ALGORITHMS.map((alg) => (
                <option value={alg}>{`generate ${alg}`}</option>
              ))}
              <option value="csr">from the CSR below</option>
            </select>
            <FieldError id="cert-key" message={errorFor(props.error, "key_algorithm")} />
            <label for="cert-csr">Certificate signing request (PEM, optional)</label>
            <textarea id="cert-csr" name="csr" rows={4} />
            <FieldError id="cert-csr" message={errorFor(props.error, "csr")} />
            <label for="cert-pfx-password">.pfx password (blank: a random one, shown once)</label>
            <input type="text" id="cert-pfx-password" name="pfx_password" autocomplete="off" />
            <FieldError id="cert-pfx-password" message={errorFor(props.error, "password")} />
            <div class="actions">
              <button type="submit" class="primary">
                Add
              </button>
            </div>
          </fieldset>
        </form>
      )}
    </AdminLayout>
  );
}

/** The answer to issuing: shown once, nothing secret in it is stored. */
export function IssuedPage(props: Frame & { issued: IssuedCertificate }) {
  const routes = useRoutes();
  const { record, privateKeyPem, pkcs12 } = props.issued;
  const base = record.subject_dn.replace(/[^A-Za-z0-9=,._-]/g, "_");
  const pem = `${record.certificate_pem.trim()}\n${privateKeyPem?.trim() ?? ""}\n`;
  return (
    <AdminLayout {...props} section="adminCertificates" title="Certificate issued">
      <h1>Certificate issued</h1>
      <p role="status">
        {`${record.subject_dn} is issued. Download it now: its private key is in this page only and is not stored.`}
      </p>
      <div class="actions">
        {privateKeyPem ? (
          <a
            class="button primary"
            id="download-pem"
            download={`${base}.pem`}
            href={`data:application/x-pem-file;base64,${btoa(pem)}`}
          >
            Download PEM (certificate + key)
          </a>
        ) : null}
        {pkcs12 ? (
          <a
            class="button primary"
            id="download-pfx"
            download={`${base}.pfx`}
            href={`data:application/x-pkcs12;base64,${pkcs12.base64}`}
          >
            Download .pfx
          </a>
        ) : null}
        <a class="button secondary" href={routes.path("adminCertificatePem", { certificateId: record.id })}>
          Certificate only
        </a>
      </div>
      {pkcs12 ? (
        <>
          <h2>.pfx password</h2>
          <p class="secret" id="pfx-password">
            {pkcs12.password}
          </p>
        </>
      ) : null}
      <CertificateFacts certificate={record} />
      <p>
        <a
          class="button secondary"
          href={`${routes.path("adminClientNew")}?template=ciba-fapi&subject=${encodeURIComponent(record.subject_dn)}`}
        >
          Add a client with this subject
        </a>{" "}
        <a href={routes.path("adminCertificate", { certificateId: record.id })}>Attach to an existing client</a>
      </p>
    </AdminLayout>
  );
}

function CertificateFacts(props: { certificate: StoredClientCertificate }) {
  const c = props.certificate;
  return (
    <dl class="props">
      <dt>Subject DN (tls_client_auth_subject_dn)</dt>
      <dd>
        <code id="subject-dn">{c.subject_dn}</code>
      </dd>
      <dt>x5t#S256</dt>
      <dd>
        <code>{c.x5t_s256}</code>
      </dd>
      <dt>Public key (for self_signed_tls_client_auth)</dt>
      <dd>
        <code>{c.public_jwk}</code>
      </dd>
      <dt>Serial</dt>
      <dd>
        <code>{c.serial_number}</code>
      </dd>
      <dt>Valid</dt>
      <dd>{`${formatTime(c.not_before)} to ${formatTime(c.not_after)}`}</dd>
    </dl>
  );
}

export function CertificatePage(
  props: Frame & { certificate: StoredClientCertificate; notice?: string; error?: FormError; otherWithSubject: number },
) {
  const routes = useRoutes();
  const c = props.certificate;
  const id = { certificateId: c.id };
  return (
    <AdminLayout {...props} section="adminCertificates" title={c.subject_dn}>
      <h1>{c.subject_dn}</h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      <p>
        {c.revoked_at
          ? `Revoked ${formatTime(c.revoked_at)}.`
          : c.client_id
            ? `Attached to client ${c.client_id}.`
            : "Not attached to a client."}
      </p>
      {props.otherWithSubject > 0 ? (
        <p class="error">
          {`${props.otherWithSubject} other active certificate(s) have this subject DN: a client bound by the DN accepts each of them.`}
        </p>
      ) : null}
      <CertificateFacts certificate={c} />
      <p>
        <a href={routes.path("adminCertificatePem", id)}>Download certificate (PEM)</a>
      </p>
      {c.revoked_at ? null : (
        <>
          <form method="post" action={routes.path("adminCertificateAttach", id)}>
            <fieldset>
              <legend>Attach to a client</legend>
              <input type="hidden" name="csrf" value={props.csrf} />
              <label for="attach-client">Client ID</label>
              <p class="hint">
                tls_client_auth: registers this subject DN. self_signed_tls_client_auth: adds this public key to the
                client's jwks.
              </p>
              <input type="text" id="attach-client" name="client_id" />
              <FieldError id="attach-client" message={errorFor(props.error, "client_id")} />
              <div class="actions">
                <button type="submit" class="secondary">
                  Attach
                </button>
              </div>
            </fieldset>
          </form>
          <form method="post" action={routes.path("adminCertificateRevoke", id)}>
            <fieldset>
              <legend>Revoke</legend>
              <p class="hint">
                Removes the binding: the key leaves the client's jwks, or a client bound by this subject DN loses its DN
                and cannot authenticate until another certificate is attached.
              </p>
              <input type="hidden" name="csrf" value={props.csrf} />
              <ReauthField error={errorFor(props.error, "password")} />
              <div class="actions">
                <button type="submit" class="danger">
                  Revoke certificate
                </button>
              </div>
            </fieldset>
          </form>
        </>
      )}
    </AdminLayout>
  );
}
