/**
 * One-time use of a DPoP proof's `jti` (RFC 9449 §11.1: "servers can store … the jti value of
 * each DPoP proof for the time window in which the respective DPoP proof JWT would be
 * accepted"). The verifier sees only this interface; edge-op backs it with the ReplayGuard
 * Durable Object, which is strongly consistent and claims atomically. KV is not an option: a
 * replay sent to another location would be accepted while the first write travels.
 */
import { sha256Hex } from "../crypto/hash";
import type { ReplayGuard } from "../replay/replay-guard";

export interface DpopReplayFence {
  /**
   * Records `jti` for the key `jkt` until `until` (epoch seconds). False if it was recorded
   * before and has not expired: the proof is a replay and must be refused. Must be atomic: of
   * two concurrent calls with the same arguments exactly one returns true.
   */
  useOnce(jkt: string, jti: string, until: number): Promise<boolean>;
}

/**
 * Seconds a jti is kept beyond the last moment its proof can be accepted: the Worker that
 * checked the time and the object read different clocks (as in src/replay/replay-guard.ts).
 */
const CLOCK_MARGIN = 60;

/**
 * RFC 9449 §11.1 on the existing ReplayGuard object: one object per DPoP key
 * (`idFromName("dpop:" + jkt)`), so proofs of one key are fenced in one place however many
 * clients or endpoints see them, and keys never contend with each other or with a client's own
 * JWT ids. Only a hash of the jti is stored ("store only a hash thereof"), in a space of its
 * own ("dpop-jti:"), so it can never collide with a client JWT's jti.
 */
export function replayGuardFence(namespace: DurableObjectNamespace<ReplayGuard>): DpopReplayFence {
  return {
    async useOnce(jkt, jti, until) {
      const stub = namespace.get(namespace.idFromName(`dpop:${jkt}`));
      return stub.claim(await sha256Hex(`dpop-jti:${jti}`), until + CLOCK_MARGIN);
    },
  };
}
