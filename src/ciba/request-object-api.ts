/**
 * What a backchannel request's Durable Object answers (its RPC methods), apart from the class
 * that implements them (./request-object.ts, created per provider). The bindings' type names
 * this interface, so nothing that only calls the object depends on how it is built.
 */
import type {
  ApprovalIds,
  BackchannelAuthenticationRequest,
  CompleteBackchannelLoginRequest,
  CompletionOutcome,
  PollOutcome,
} from "./model";

export type BackchannelRequestObjectApi = Rpc.DurableObjectBranded & {
  /** Stores a new request; false if this object already holds one (a colliding id). */
  create(record: BackchannelAuthenticationRequest, authReqIdHash: string): Promise<boolean>;
  read(): Promise<BackchannelAuthenticationRequest | null>;
  /** The token endpoint's question, answered atomically (CIBA §11). */
  poll(clientId: string): Promise<PollOutcome>;
  /** Records the user's answer atomically; an approval takes the grant's ids from `ids` (issue 18). */
  complete(completion: CompleteBackchannelLoginRequest & { ids?: ApprovalIds }): Promise<CompletionOutcome>;
  /** Replaces the descriptive fields only; the record as updated, or null if there is none. */
  update(
    changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">,
  ): Promise<BackchannelAuthenticationRequest | null>;
  /** Deletes everything; the record that was there, or null. */
  remove(): Promise<BackchannelAuthenticationRequest | null>;
};
