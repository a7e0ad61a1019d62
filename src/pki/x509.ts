/**
 * The one place that loads @peculiar/x509 (X.509, PKCS#10 and their ASN.1 over Web Crypto) for
 * src/pki/. It resolves its algorithm providers through tsyringe, which needs the Reflect metadata
 * API, so reflect-metadata is imported first; it only adds functions to the global `Reflect`.
 * The library is told to use the runtime's own Web Crypto (workerd's, or Node's in scripts).
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

/**
 * Bounds for parsing DER that came from outside (an uploaded CSR, an imported CA): a few KiB of
 * well-formed certificate never come near them, and a crafted one cannot make the parser walk
 * an unbounded tree.
 */
export const UNTRUSTED_DER_LIMITS = { berOptions: { maxDepth: 32, maxNodes: 4_096, maxContentLength: 65_536 } };

export { x509 };
