import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { StateReport } from '../domain/provider.js';
import { storableText, toJsonb, type IngestResult, type IngestOutcome, type IngestTargets } from './ingest.js';
import { wakeForwarders } from './outbox.js';

/** A provider's answer about one order, as the query client returned it. */
export interface FoundAnswer {
  report: StateReport;
  msgId: string | null;
  providerUpdateTime: string | null;
  response: Record<string, unknown>;
}

/**
 * What makes two answers the same answer: kind and order (the unique index), normalised state,
 * amount, paid amount and the provider's update time. Asking a stuck order every slot then
 * stores one answer, counted, rather than one per slot.
 */
export function answerKey(answer: FoundAnswer): string {
  const { report } = answer;
  const identity = JSON.stringify([report.state, report.amount, report.paidAmount, answer.providerUpdateTime]);
  return `query:${createHash('sha256').update(identity).digest('hex')}`;
}

/**
 * Applies a query answer like a notification (source `query`) through the one state rule, keeps it
 * as a notification, and settles the order's unverified hints, in one statement and transaction.
 */
export async function recordQueryAnswer(pool: pg.Pool, answer: FoundAnswer, targets: IngestTargets): Promise<IngestResult> {
  const r = answer.report;
  const t = storableText;
  const { rows } = await pool.query<{ outcome: IngestOutcome; event_id: string | null }>({
    name: 'record_query_answer',
    text: `SELECT outcome, event_id FROM record_query_answer(
      $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 * interval '1 millisecond')`,
    values: [
      r.provider, r.kind, t(r.orderRef), answerKey(answer), t(answer.msgId), t(r.rawState), r.state, r.amount, r.paidAmount,
      t(r.currency), t(r.trxDate), t(r.errorCode), t(r.errorMessage), toJsonb(answer.response), targets.destinations,
      targets.firstQueryAfterMs,
    ],
  });
  const row = rows[0];
  if (row === undefined) throw new Error('record_query_answer returned no row');
  if (row.event_id !== null && targets.destinations.length > 0) wakeForwarders(pool);
  return { outcome: row.outcome, eventId: row.event_id };
}

/** The provider does not know the order: its unverified hints are rejected, nothing else changes. */
export async function rejectUnknownOrderHints(pool: pg.Pool, kind: string, orderRef: string): Promise<number> {
  const result = await pool.query(
    `UPDATE notifications SET status = 'rejected', reason = 'NOT_FOUND_AT_PROVIDER'
     WHERE kind = $1 AND order_ref = $2 AND status = 'unverified'`,
    [kind, orderRef],
  );
  await pool.query('UPDATE orders SET last_queried_at = now() WHERE kind = $1 AND order_ref = $2', [kind, orderRef]);
  return result.rowCount ?? 0;
}
