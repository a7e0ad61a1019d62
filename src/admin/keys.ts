/**
 * The signing keys as the console and its API show them: the keys of the SIGNING_KEYS secret,
 * read-only (adding or retiring a key needs key storage of its own; docs/admin-console.md), each
 * with the public JWK that /jwks publishes. No private member ever leaves loadKeys.
 */
import type { JWK } from "jose";
import { loadKeys } from "../tokens/keys";

export interface SigningKeyView {
  kid: string;
  alg: string;
  /** The first key signs new tokens; the others are published only, to verify older tokens. */
  signs: boolean;
  public_jwk: JWK;
}

export async function signingKeyViews(signingKeys: string | undefined): Promise<SigningKeyView[]> {
  const keys = await loadKeys(signingKeys);
  return keys.all.map((key) => ({
    kid: key.kid,
    alg: key.alg,
    signs: key.kid === keys.active.kid,
    public_jwk: key.publicJwk,
  }));
}
