/**
 * The user's recent answers to backchannel requests (D1 table `ciba_decisions`, migration 0046),
 * shown on the account page. Written when an answer is accepted; kept 30 days.
 */
import { arrayOf, int, json, nullable, object, oneOf, type Parser, readStored, str } from "../parse";

export const DECISION_RETENTION = 30 * 24 * 3600;

export interface CibaDecision {
  internalId: string;
  clientId: string;
  clientName: string;
  decision: "approved" | "denied";
  scopes: string[];
  bindingMessage?: string;
  decidedAt: number;
}

interface Row {
  internal_id: string;
  client_id: string;
  client_name: string;
  decision: "approved" | "denied";
  scopes: string[];
  binding_message: string | undefined;
  decided_at: number;
}

const row: Parser<Row> = object<Row>({
  internal_id: str,
  client_id: str,
  client_name: str,
  decision: oneOf(["approved", "denied"] as const),
  scopes: json(arrayOf(str)),
  binding_message: nullable(str),
  decided_at: int,
});

export class CibaDecisionStore {
  constructor(private readonly db: D1Database) {}

  async record(subject: string, decision: CibaDecision): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    await this.db.batch([
      this.db.prepare("DELETE FROM ciba_decisions WHERE decided_at < ?").bind(now - DECISION_RETENTION),
      this.db
        .prepare(
          `INSERT OR IGNORE INTO ciba_decisions
           (internal_id, subject, client_id, client_name, decision, scopes, binding_message, decided_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(
          decision.internalId,
          subject,
          decision.clientId,
          decision.clientName,
          decision.decision,
          JSON.stringify(decision.scopes),
          decision.bindingMessage ?? null,
          decision.decidedAt,
        ),
    ]);
  }

  /** The user's most recent answers (newest first) within the retention period. */
  async recent(subject: string, limit = 20): Promise<CibaDecision[]> {
    const since = Math.floor(Date.now() / 1000) - DECISION_RETENTION;
    const { results } = await this.db
      .prepare(
        `SELECT internal_id, client_id, client_name, decision, scopes, binding_message, decided_at
         FROM ciba_decisions WHERE subject = ? AND decided_at >= ? ORDER BY decided_at DESC LIMIT ?`,
      )
      .bind(subject, since, limit)
      .all();
    const decisions: CibaDecision[] = [];
    for (const value of results) {
      const parsed = readStored("ciba_decisions", row, value);
      if (!parsed) continue;
      decisions.push({
        internalId: parsed.internal_id,
        clientId: parsed.client_id,
        clientName: parsed.client_name,
        decision: parsed.decision,
        scopes: parsed.scopes,
        bindingMessage: parsed.binding_message,
        decidedAt: parsed.decided_at,
      });
    }
    return decisions;
  }
}
