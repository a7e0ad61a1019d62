/**
 * What src/pki/ throws when an operator's input cannot be used: a subject DN that is not one,
 * a CSR whose signature does not verify, a CA key that does not belong to its certificate.
 * `field` names the form field the message belongs beside; the console renders it there (and the
 * admin JSON API as a 400 with that field), never as a 500.
 */
export type PkiField = "subject" | "key_algorithm" | "validity" | "csr" | "certificate" | "private_key" | "password";

export class PkiInputError extends Error {
  override name = "PkiInputError";
  constructor(
    readonly field: PkiField,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A stored CA or certificate record that does not have the shape this code wrote, or whose
 * encrypted key does not open with DATA_ENCRYPTION_KEY: a fault of the deployment (wrong key,
 * edited row), not of the request, so it is not a PkiInputError.
 */
export class StoredPkiRecordError extends Error {
  override name = "StoredPkiRecordError";
}
