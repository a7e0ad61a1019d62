/**
 * Deliveries that failed for good (migrations/0070_delivery_failures.sql, issue 19): written by a
 * backchannel request's object when its user notice or its ping/push to the client ends
 * "failed", read by the console. A failure, not a flow, pays for the row: nothing here runs on a
 * happy path. Rows are parsed, not cast.
 */
import { int, object, oneOf, readStored, str } from "../parse";

/** How long a failure stays listed. */
export const DELIVERY_FAILURE_RETENTION_SECONDS = 30 * 24 * 3600;

export const DELIVERY_KINDS = ["user_notice", "ping", "push"] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

export interface DeliveryFailure {
  id: number;
  /** Unix seconds. */
  failedAt: number;
  kind: DeliveryKind;
  clientId: string;
  subject: string;
  /** The request's internal id, never its auth_req_id. */
  requestId: string;
  attempts: number;
  reason: string;
}

export type NewDeliveryFailure = Omit<DeliveryFailure, "id" | "failedAt">;

const failureRecord = object({
  id: int,
  failed_at: int,
  kind: oneOf(DELIVERY_KINDS),
  client_id: str,
  subject: str,
  request_id: str,
  attempts: int,
  reason: str,
});

function parse(stored: unknown): DeliveryFailure | undefined {
  const r = readStored("delivery_failures", failureRecord, stored);
  if (!r) return undefined;
  return {
    id: r.id,
    failedAt: r.failed_at,
    kind: r.kind,
    clientId: r.client_id,
    subject: r.subject,
    requestId: r.request_id,
    attempts: r.attempts,
    reason: r.reason,
  };
}

export class DeliveryFailureStore {
  constructor(private readonly db: D1Database) {}

  /** Records one failure, and deletes the failures past their retention in the same batch. */
  async record(failure: NewDeliveryFailure, nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
    await this.db.batch([
      this.db.prepare("DELETE FROM delivery_failures WHERE expires_at < ?").bind(nowSeconds),
      this.db
        .prepare(
          "INSERT INTO delivery_failures (failed_at, kind, client_id, subject, request_id, attempts, reason, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(
          nowSeconds,
          failure.kind,
          failure.clientId,
          failure.subject,
          failure.requestId,
          failure.attempts,
          failure.reason.slice(0, 200),
          nowSeconds + DELIVERY_FAILURE_RETENTION_SECONDS,
        ),
    ]);
  }

  /** Newest first, unexpired; `before` pages back by id; `clientId` narrows to one client. */
  async recent(limit: number, options: { before?: number; clientId?: string } = {}): Promise<DeliveryFailure[]> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const byClient = options.clientId !== undefined;
    const { results } = await this.db
      .prepare(
        `SELECT * FROM delivery_failures WHERE id < ? AND expires_at >= ?${byClient ? " AND client_id = ?" : ""} ORDER BY id DESC LIMIT ?`,
      )
      .bind(options.before ?? Number.MAX_SAFE_INTEGER, nowSeconds, ...(byClient ? [options.clientId] : []), limit)
      .all();
    return results.flatMap((stored) => parse(stored) ?? []);
  }
}
