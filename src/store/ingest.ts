import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Transition } from '../domain/order-state.js';
import type { Notification } from '../starpay/notification.js';

export type IngestOutcome = Transition | 'duplicate';

export interface IngestResult {
  outcome: IngestOutcome;
  /** The event written for a real state change. */
  eventId: string | null;
}

/**
 * Stores an authentic notification, moves its order and writes its event and deliveries in one
 * statement (one round trip, one transaction): when this resolves, all of it is committed.
 */
export async function ingestNotification(
  pool: pg.Pool,
  notification: Notification,
  verified: { request: unknown; signedText: string; signature: string },
  forwardUrls: readonly string[],
): Promise<IngestResult> {
  const n = notification;
  const { rows } = await pool.query<{ outcome: IngestOutcome; event_id: string | null }>({
    name: 'ingest_notification',
    text: 'SELECT outcome, event_id FROM ingest_notification($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
    values: [
      n.kind, n.orderRef, n.dedupKey, n.msgId, n.rawState, n.state, n.amount, n.currency, n.trxDate,
      n.errorCode, n.errorMessage, toJsonb(verified.request), verified.signedText, verified.signature, forwardUrls,
    ],
  });
  const row = rows[0];
  if (row === undefined) throw new Error('ingest_notification returned no row');
  return { outcome: row.outcome, eventId: row.event_id };
}

export interface Rejection {
  kind: string;
  reason: string;
  body: string;
  request: unknown;
  orderRef: string | null;
  msgId: string | null;
}

/** Bodies are kept up to this many characters; the reason and the parsed request say the rest. */
export const REJECTED_BODY_KEEP = 8_192;

/** Records a refused request once per distinct body (repeats are counted). */
export async function recordRejection(pool: pg.Pool, rejection: Rejection): Promise<void> {
  const bodyHash = createHash('sha256').update(rejection.body).digest('hex');
  await pool.query({
    name: 'record_rejection',
    text: `INSERT INTO notifications AS n (kind, order_ref, msg_id, dedup_key, status, reason, request, body)
           VALUES ($1, $2, $3, $4, 'rejected', $5, $6, $7)
           ON CONFLICT (kind, dedup_key) WHERE status = 'rejected'
           DO UPDATE SET delivery_count = n.delivery_count + 1, last_received_at = now(), reason = EXCLUDED.reason`,
    values: [
      rejection.kind, rejection.orderRef, rejection.msgId, `body:${bodyHash}`, rejection.reason,
      rejection.request === undefined ? null : toJsonb(rejection.request), rejection.body.slice(0, REJECTED_BODY_KEEP),
    ],
  });
}

/** Keeps the newest `keep` rejected records, so a flood of garbage cannot grow the table without bound. */
export async function pruneRejections(pool: pg.Pool, keep: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM notifications WHERE status = 'rejected' AND id <= (
       SELECT id FROM notifications WHERE status = 'rejected' ORDER BY id DESC OFFSET $1 LIMIT 1)`,
    [keep],
  );
  return result.rowCount ?? 0;
}

/** JSON text for a jsonb column; NUL characters, which jsonb cannot hold, become U+FFFD. */
function toJsonb(value: unknown): string {
  return JSON.stringify(value).replace(/\\u0000/g, '\\ufffd');
}
