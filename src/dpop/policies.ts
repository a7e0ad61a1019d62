/**
 * The DPoP policies of one provider (RFC 9449), built once per env from its settings and
 * bindings (src/provider/runtime.ts keeps them): one nonce source and one replay fence shared
 * by the authorization server side (/token, /par: 400 JSON errors) and the resource side
 * (/userinfo, the authenticator API: 401 challenges), so a nonce or a used `jti` means the same
 * everywhere in the provider.
 */
import type { Settings } from "../config";
import type { Bindings } from "../env";
import { statelessDpopNonces } from "./nonce";
import type { DpopPolicy } from "./policy";
import { replayGuardFence } from "./replay";

export interface DpopPolicies {
  authorizationServer: DpopPolicy;
  resourceServer: DpopPolicy;
}

export function dpopPolicies(settings: Settings, bindings: Bindings): DpopPolicies {
  const shared = {
    algorithms: settings.dpopSigningAlgValues,
    clockTolerance: settings.jwtClockTolerance,
    maxAge: settings.dpopProofMaxAge,
    replay: replayGuardFence(bindings.REPLAY_GUARD),
    nonces: statelessDpopNonces(bindings.DATA_ENCRYPTION_KEY, { window: settings.dpopNonceWindow }),
    requireNonce: settings.dpopRequireNonce,
  };
  return {
    authorizationServer: { ...shared, site: "authorization_server" },
    resourceServer: { ...shared, site: "resource_server" },
  };
}
