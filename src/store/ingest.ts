import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Transition } from '../domain/order-state.js';
import type { Notification } from '../domain/provider.js';
import { wakeForwarders } from './outbox.js';

/** `unverified`: a hint was stored and its order will be queried; `duplicate`: a repeat, counted. */
export type IngestOutcome = Transition | 'duplicate' | 'unverified';

export interface IngestResult {
  outcome: IngestOutcome;
  /** The event written for a real state change. */
  eventId: string | null;
}

/** Where an ingest's events go and when a new PENDING order is first queried. */
export interface IngestTargets {
  /** Destination ids (URLs with credentials replaced by ***): one delivery each per event. */
  destinations: readonly string[];
  /** First RECONCILE_SCHEDULE slot for an order of this kind, or null when it cannot be queried. */
  firstQueryAfterMs: number | null;
}

/**
 * The one statement of the hot path, as a named prepared statement: each pooled connection parses
 * and plans it once, then every notification costs a single Bind/Execute round trip.
 */
export const INGEST_STATEMENT = {
  text: `SELECT outcome, event_id FROM ingest_notification(
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 * interval '1 millisecond')`,
} as const;

/** The parameters of INGEST_STATEMENT for one notification. */
export function ingestParameters(n: Notification, targets: IngestTargets): unknown[] {
  const t = storableText;
  return [
    n.provider, n.kind, t(n.orderRef), t(n.dedupKey), t(n.msgId), n.status, t(n.rawState), n.state, n.amount, n.paidAmount,
    t(n.currency), t(n.trxDate), t(n.errorCode), t(n.errorMessage), toJsonb(n.request), t(n.signedText), n.signature,
    targets.destinations, targets.firstQueryAfterMs,
  ];
}

/**
 * Stores a notification, moves its order and writes its event and deliveries in one statement
 * (one round trip, one transaction): when this resolves, all of it is committed. A new event then
 * wakes the forwarders (coalesced, outside the transaction).
 */
export async function ingestNotification(pool: pg.Pool, notification: Notification, targets: IngestTargets): Promise<IngestResult> {
  const { rows } = await pool.query<{ outcome: IngestOutcome; event_id: string | null }>({
    ...INGEST_STATEMENT,
    values: ingestParameters(notification, targets),
  });
  const row = rows[0];
  if (row === undefined) throw new Error('ingest_notification returned no row');
  // Committed: deliveries were written for the event, so the forwarders have work.
  if (row.event_id !== null && targets.destinations.length > 0) wakeForwarders(pool);
  return { outcome: row.outcome, eventId: row.event_id };
}

export interface Rejection {
  provider: string;
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
    text: `INSERT INTO notifications AS n (provider, kind, order_ref, msg_id, dedup_key, status, reason, request, body)
           VALUES ($8, $1, $2, $3, $4, 'rejected', $5, $6, $7)
           ON CONFLICT (kind, dedup_key) WHERE dedup_key LIKE 'body:%'
           DO UPDATE SET delivery_count = n.delivery_count + 1, last_received_at = now(), reason = EXCLUDED.reason`,
    values: [
      rejection.kind, storableText(rejection.orderRef), storableText(rejection.msgId), `body:${bodyHash}`, rejection.reason,
      rejection.request === undefined ? null : toJsonb(rejection.request), storableText(rejection.body.slice(0, REJECTED_BODY_KEEP)),
      rejection.provider,
    ],
  });
}

/**
 * Keeps the newest `keep` rejected records and the newest `keep` unverified hints, so that a flood
 * of garbage or of forged hints cannot grow the table without bound. A pruned hint loses nothing
 * but its record: it proved nothing, and its order's query stays scheduled, whose answer is applied
 * whatever the hint said.
 */
export async function pruneRejections(pool: pg.Pool, keep: number): Promise<number> {
  let pruned = 0;
  for (const status of ['rejected', 'unverified']) {
    const result = await pool.query(
      `DELETE FROM notifications WHERE status = $2 AND id <= (
         SELECT id FROM notifications WHERE status = $2 ORDER BY id DESC OFFSET $1 LIMIT 1)`,
      [keep, status],
    );
    pruned += result.rowCount ?? 0;
  }
  return pruned;
}

/**
 * PostgreSQL text cannot hold NUL, nor jsonb a lone UTF-16 surrogate; an authentic notification
 * carrying either must still be stored (else every resend would get a 503), so both become
 * U+FFFD. The same input always maps to the same text, so repeats stay repeats.
 */
export function storableText<T extends string | null>(value: T): T {
  return (value === null ? value : value.toWellFormed().replaceAll('\0', '\uFFFD')) as T;
}

/** JSON text for a jsonb column, every string and key made storable. */
export function toJsonb(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify writes NUL and lone surrogates as these escapes: a clean request costs one test.
  return /\\u0000|\\ud[89a-f]/i.test(json) ? JSON.stringify(storableJson(value)) : json;
}

function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storableText(key), storableJson(inner)]));
  }
  return value;
}
