/**
 * The Worker's bindings: what wrangler.toml and the secrets give every request.
 * Settings are read from these strings in one place, src/config.ts.
 */
import type { ReplayGuard } from "./replay/replay-guard";

export interface Bindings {
  DB: D1Database;
  PAR_REQUESTS: KVNamespace;
  REPLAY_GUARD: DurableObjectNamespace<ReplayGuard>;

  // Plain settings (wrangler vars); all optional except ISSUER.
  ISSUER: string;
  ACCESS_TOKEN_TTL?: string;
  ID_TOKEN_TTL?: string;
  REFRESH_TOKEN_TTL?: string;
  CLIENT_ASSERTION_MAX_LIFETIME?: string;
  MAX_REQUEST_BODY_BYTES?: string;
  JWKS_URI_CACHE_SECONDS?: string;
  SCOPES_SUPPORTED?: string;

  // Secrets.
  /** JSON `{"keys": [private JWK, …]}`; the first key signs, all are published. */
  SIGNING_KEYS?: string;
  /** base64url of 32 random bytes: AES-256-GCM key for data encrypted at rest. */
  DATA_ENCRYPTION_KEY?: string;
}

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {}
  }
}
