/**
 * The test Worker's provider, and the shapes older tests call edge-op in: each is the provider's
 * own service or function, reached from the env as the provider reaches it.
 */
import { mintPushTokens as mintPushTokensIn } from "../../src/ciba/client-delivery";
import { BackchannelAuthenticationInteractionService as InteractionService } from "../../src/ciba/interaction-service";
import type { BackchannelAuthenticationRequest } from "../../src/ciba/model";
import type { Settings } from "../../src/config";
import { provider } from "../worker";

export { provider };

/** The provider's BackchannelAuthenticationInteractionService for `env`. */
export class BackchannelAuthenticationInteractionService extends InteractionService {
  constructor(env: Cloudflare.Env) {
    super(provider.context(env));
  }
}

/** What a push-mode request's alarm mints, with these settings. */
export function mintPushTokens(
  env: Cloudflare.Env,
  settings: Settings,
  request: BackchannelAuthenticationRequest,
  authReqId: string,
) {
  return mintPushTokensIn({ ...provider.context(env), settings }, request, authReqId);
}
