/**
 * Certificate authorities and client certificates for the console and its API, on src/pki/ and
 * D1 tables certificate_authorities and client_certificates (migrations/0061_pki.sql). A CA's
 * private key is stored only sealed with DATA_ENCRYPTION_KEY; a client certificate's generated
 * key is handed out once (PEM and PKCS#12) and never stored. Every change is one D1 batch with
 * its audit row.
 */
import { type Client, RegistrationError, validateClientRegistration } from "../clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../clients/registry";
import {
  createCertificateAuthority,
  importCertificateAuthority,
  type NewCertificateAuthority,
} from "../pki/certificate-authority";
import { issueClientCertificate } from "../pki/client-certificate";
import { PkiInputError } from "../pki/errors";
import { type GeneratedKeyAlgorithm, parseGeneratedKeyAlgorithm } from "../pki/keys";
import { fromPem } from "../pki/pem";
import { buildPkcs12, generatePkcs12Password } from "../pki/pkcs12";
import {
  clientCertificateRecord,
  newPkiId,
  openCertificateAuthority,
  parsePublicJwk,
  parseStoredCertificateAuthority,
  parseStoredClientCertificate,
  type StoredCertificateAuthority,
  type StoredClientCertificate,
  sealCertificateAuthority,
} from "../pki/store";
import type { AdminStore } from "./store";

/** A certificate just issued, with what is shown once: the key, the .pfx and its password. */
export interface IssuedCertificate {
  record: StoredClientCertificate;
  privateKeyPem?: string;
  pkcs12?: { base64: string; password: string };
}

export interface AttachOutcome {
  ok: boolean;
  message: string;
}

export class PkiAdmin {
  constructor(
    private readonly db: D1Database,
    private readonly admin: AdminStore,
    private readonly dataEncryptionKey: string | undefined,
    private readonly settings: { scopesSupported: readonly string[]; allowHttpNotificationEndpoints: boolean },
  ) {}

  async authorities(): Promise<StoredCertificateAuthority[]> {
    const { results } = await this.db.prepare("SELECT * FROM certificate_authorities ORDER BY created_at DESC").all();
    return results.map(parseStoredCertificateAuthority);
  }

  async authority(id: string): Promise<StoredCertificateAuthority | undefined> {
    const row = await this.db.prepare("SELECT * FROM certificate_authorities WHERE id = ?").bind(id).first();
    return row ? parseStoredCertificateAuthority(row) : undefined;
  }

  async createAuthority(
    input: { name: string; subject: string; keyAlgorithm: string; days: number },
    actor: string,
  ): Promise<StoredCertificateAuthority> {
    const authority = await createCertificateAuthority({
      subject: input.subject,
      keyAlgorithm: parseGeneratedKeyAlgorithm(input.keyAlgorithm),
      validity: { days: input.days },
    });
    return this.saveAuthority(input.name, "created", authority, actor);
  }

  async importAuthority(
    input: { name: string; certificatePem: string; privateKeyPem: string },
    actor: string,
  ): Promise<StoredCertificateAuthority> {
    const authority = await importCertificateAuthority(input);
    return this.saveAuthority(input.name, "imported", authority, actor);
  }

  private async saveAuthority(
    name: string,
    origin: "created" | "imported",
    authority: NewCertificateAuthority,
    actor: string,
  ): Promise<StoredCertificateAuthority> {
    const label = name.trim().slice(0, 100) || authority.subjectDn;
    const row = await sealCertificateAuthority(
      this.dataEncryptionKey,
      { id: newPkiId(), name: label, origin, createdAt: new Date() },
      authority,
    );
    const columns = Object.keys(row) as (keyof StoredCertificateAuthority)[];
    await this.db.batch([
      this.db
        .prepare(
          `INSERT INTO certificate_authorities (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        )
        .bind(...columns.map((column) => row[column])),
      this.admin.auditStatement(actor, `ca.${origin === "created" ? "create" : "import"}`, row.id, row.subject_dn),
    ]);
    return row;
  }

  async certificates(filter: { caId?: string } = {}): Promise<StoredClientCertificate[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM client_certificates WHERE ?1 IS NULL OR ca_id = ?1 ORDER BY created_at DESC LIMIT 500")
      .bind(filter.caId ?? null)
      .all();
    return results.map(parseStoredClientCertificate);
  }

  async certificate(id: string): Promise<StoredClientCertificate | undefined> {
    const row = await this.db.prepare("SELECT * FROM client_certificates WHERE id = ?").bind(id).first();
    return row ? parseStoredClientCertificate(row) : undefined;
  }

  /** Active certificates with this subject DN: each one authenticates a client bound by that DN. */
  async activeWithSubject(subjectDn: string): Promise<StoredClientCertificate[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM client_certificates WHERE subject_dn = ? AND revoked_at IS NULL AND not_after > ?")
      .bind(subjectDn, Math.floor(Date.now() / 1000))
      .all();
    return results.map(parseStoredClientCertificate);
  }

  async issue(
    input: {
      caId: string;
      subject: string;
      days: number;
      key: { generate: string } | { csr: string };
      pkcs12Password?: string;
    },
    actor: string,
  ): Promise<IssuedCertificate> {
    const stored = await this.authority(input.caId);
    if (!stored) throw new PkiInputError("certificate", "choose a certificate authority");
    if (stored.retired_at !== null) throw new PkiInputError("certificate", "this certificate authority is retired");
    const authority = await openCertificateAuthority(this.dataEncryptionKey, stored);
    const key: { generate: GeneratedKeyAlgorithm } | { csr: string } =
      "generate" in input.key ? { generate: parseGeneratedKeyAlgorithm(input.key.generate) } : input.key;
    const issued = await issueClientCertificate({
      authority,
      subject: input.subject,
      validity: { days: input.days },
      key,
    });
    const record = clientCertificateRecord({ id: newPkiId(), caId: stored.id, createdAt: new Date() }, issued);
    const columns = Object.keys(record) as (keyof StoredClientCertificate)[];
    await this.db.batch([
      this.db
        .prepare(
          `INSERT INTO client_certificates (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        )
        .bind(...columns.map((column) => record[column])),
      this.admin.auditStatement(actor, "certificate.issue", record.id, `${record.subject_dn} from CA ${stored.id}`),
    ]);
    if (!issued.privateKeyPkcs8 || !issued.privateKeyPem) return { record };
    const password = input.pkcs12Password || generatePkcs12Password();
    const pfx = await buildPkcs12({
      certificate: issued.der,
      privateKey: issued.privateKeyPkcs8,
      chain: [fromPem(stored.certificate_pem, ["CERTIFICATE"], "certificate", "CA certificate")],
      password,
      friendlyName: record.subject_dn,
    });
    return { record, privateKeyPem: issued.privateKeyPem, pkcs12: { base64: toBase64(pfx), password } };
  }

  /**
   * Binds a certificate to a client: a tls_client_auth client registers its subject DN, a
   * self_signed_tls_client_auth client its public key in `jwks`. The changed registration goes
   * through validateClientRegistration like any edit.
   */
  async attach(certificateId: string, client: Client, actor: string): Promise<AttachOutcome> {
    const certificate = await this.certificate(certificateId);
    if (!certificate) return { ok: false, message: "No such certificate." };
    if (certificate.revoked_at !== null) return { ok: false, message: "This certificate is revoked." };
    if (certificate.not_after <= Math.floor(Date.now() / 1000))
      return { ok: false, message: "This certificate has expired." };
    let next: Client;
    if (client.token_endpoint_auth_method === "tls_client_auth") {
      next = {
        ...client,
        tls_client_auth_subject_dn: certificate.subject_dn,
        tls_client_auth_san_dns: undefined,
        tls_client_auth_san_uri: undefined,
        tls_client_auth_san_ip: undefined,
        tls_client_auth_san_email: undefined,
      };
    } else if (client.token_endpoint_auth_method === "self_signed_tls_client_auth") {
      if (client.jwks_uri)
        return { ok: false, message: "This client's keys come from its jwks_uri: add the key there." };
      const jwk = { ...parsePublicJwk(certificate.public_jwk), kid: certificate.x5t_s256 };
      const keys = (client.jwks?.keys ?? []).filter((key) => key.kid !== jwk.kid);
      next = { ...client, jwks: { keys: [...keys, jwk] } };
    } else {
      return { ok: false, message: "Only tls_client_auth and self_signed_tls_client_auth clients use certificates." };
    }
    const problem = this.problemWith(next);
    if (problem) return { ok: false, message: problem };
    await this.db.batch([
      await this.updateClientStatement(next),
      this.db
        .prepare("UPDATE client_certificates SET client_id = ? WHERE id = ?")
        .bind(client.client_id, certificate.id),
      this.admin.auditStatement(actor, "certificate.attach", certificate.id, `client ${client.client_id}`),
    ]);
    return { ok: true, message: `Attached to ${client.client_id}.` };
  }

  /**
   * Revokes a certificate and removes its binding: its key leaves the client's `jwks`, and a
   * client bound by its subject DN has the DN cleared (it then authenticates with no
   * certificate until another is attached).
   */
  async revoke(certificateId: string, client: Client | undefined, actor: string): Promise<void> {
    const certificate = await this.certificate(certificateId);
    if (!certificate || certificate.revoked_at !== null) return;
    const statements: D1PreparedStatement[] = [
      this.db
        .prepare("UPDATE client_certificates SET revoked_at = ?, client_id = NULL WHERE id = ?")
        .bind(Math.floor(Date.now() / 1000), certificate.id),
      this.admin.auditStatement(actor, "certificate.revoke", certificate.id, certificate.subject_dn),
    ];
    if (
      client?.token_endpoint_auth_method === "tls_client_auth" &&
      client.tls_client_auth_subject_dn === certificate.subject_dn
    ) {
      // No DN at all: the registry's validation would refuse this row, and that is the point — the
      // client cannot authenticate until a certificate is attached again.
      statements.push(
        this.db
          .prepare("UPDATE clients SET tls_client_auth_subject_dn = NULL WHERE client_id = ?")
          .bind(client.client_id),
      );
    }
    if (client?.jwks) {
      const keys = client.jwks.keys.filter((key) => key.kid !== certificate.x5t_s256);
      statements.push(
        this.db
          .prepare("UPDATE clients SET jwks = ? WHERE client_id = ?")
          .bind(JSON.stringify({ keys }), client.client_id),
      );
    }
    await this.db.batch(statements);
  }

  private problemWith(client: Client): string | undefined {
    try {
      // The stored secret stays; validation only needs to know there is one.
      validateClientRegistration({ ...client, client_secret: undefined }, this.settings.scopesSupported, {
        allowHttpNotificationEndpoints: this.settings.allowHttpNotificationEndpoints,
      });
      return undefined;
    } catch (error) {
      if (error instanceof RegistrationError) return error.message;
      throw error;
    }
  }

  /** The client's metadata columns rewritten from `client`, its secret and creation time kept. */
  private async updateClientStatement(client: Client): Promise<D1PreparedStatement> {
    const kept = new Set<string>(["client_id", "client_secret_hash", "client_secret_encrypted", "created_at"]);
    const columns = CLIENT_COLUMNS.filter((column) => !kept.has(column));
    // clientRow maps the fields to columns exactly as creation does.
    const row = await clientRow({ ...client, client_secret: undefined }, this.dataEncryptionKey);
    return this.db
      .prepare(`UPDATE clients SET ${columns.map((column) => `${column} = ?`).join(", ")} WHERE client_id = ?`)
      .bind(...columns.map((column) => row[column]), client.client_id);
  }
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}
