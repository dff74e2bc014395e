import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Transition } from '../domain/order-state.js';
import { boundedRejection } from '../domain/forensics.js';
import { clipForLog } from '../domain/log-text.js';
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
 * One notification in one statement (`ingest_notification()`): what the order-state tests and the
 * ceiling bench send. The service itself writes batches (group-commit.ts). Unnamed, so that it
 * also works through PgBouncer in transaction mode.
 */
export const INGEST_STATEMENT = {
  text: `SELECT outcome, event_id FROM ingest_notification(
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 * interval '1 millisecond')`,
} as const;

/** The parameters of INGEST_STATEMENT for one notification. */
export function ingestParameters(n: Notification, targets: IngestTargets): unknown[] {
  const t = storableText;
  return [
    n.provider,
    n.kind,
    t(n.orderRef),
    t(n.dedupKey),
    t(n.msgId),
    n.status,
    t(n.rawState),
    n.state,
    n.amount,
    n.paidAmount,
    t(n.currency),
    t(n.trxDate),
    t(n.errorCode),
    t(n.errorMessage),
    toJsonb(n.request),
    t(n.signedText),
    n.signature,
    targets.destinations,
    targets.firstQueryAfterMs,
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

/**
 * Records a refused request once per distinct body (repeats are counted), keeping at most
 * FORENSIC_BYTES of its body and parsed request together: the reason says the rest.
 */
export async function recordRejection(pool: pg.Pool, rejection: Rejection): Promise<void> {
  const bodyHash = createHash('sha256').update(rejection.body).digest('hex');
  const kept = boundedRejection(storableText(rejection.body), rejection.request === undefined ? undefined : storableJson(rejection.request));
  await pool.query({
    text: `INSERT INTO notifications AS n (provider, kind, order_ref, msg_id, dedup_key, status, reason, request, body)
           VALUES ($8, $1, $2, $3, $4, 'rejected', $5, $6, $7)
           ON CONFLICT (kind, dedup_key) WHERE dedup_key LIKE 'body:%'
           DO UPDATE SET delivery_count = n.delivery_count + 1, last_received_at = now(), reason = EXCLUDED.reason`,
    values: [
      rejection.kind,
      storableText(clipForLog(rejection.orderRef)),
      storableText(clipForLog(rejection.msgId)),
      `body:${bodyHash}`,
      rejection.reason,
      kept.request === undefined ? null : JSON.stringify(kept.request),
      kept.body,
      rejection.provider,
    ],
  });
}

/** References abandoned as unknown at their provider that are remembered (about 100 bytes each). */
export const ABANDONED_KEPT = 100_000;

/** Refused requests and hints older than this are pruned, however few there are. */
export const FORENSICS_MAX_AGE_DAYS = 30;

/**
 * Keeps the newest `keep` refused requests and the newest `keep` StarPago hints (unverified or
 * settled), none older than FORENSICS_MAX_AGE_DAYS, so that a flood of garbage or of forged hints
 * cannot grow the table without bound. A pruned hint loses nothing but its record: it proved
 * nothing, and an unverified one's query stays scheduled, whose answer is applied whatever the
 * hint said. Each class is walked newest first by its own partial index.
 */
export async function pruneNotifications(pool: pg.Pool, keep: number): Promise<number> {
  let pruned = 0;
  for (const which of ["status = 'rejected' AND NOT hint", 'hint']) {
    const byCount = await pool.query(
      `DELETE FROM notifications WHERE ${which} AND id <= (SELECT id FROM notifications WHERE ${which} ORDER BY id DESC OFFSET $1 LIMIT 1)`,
      [keep],
    );
    const byAge = await pool.query(
      `DELETE FROM notifications WHERE ${which} AND id <= (
         SELECT id FROM notifications WHERE ${which} AND first_received_at < now() - $1 * interval '1 day' ORDER BY id DESC LIMIT 1)`,
      [FORENSICS_MAX_AGE_DAYS],
    );
    pruned += (byCount.rowCount ?? 0) + (byAge.rowCount ?? 0);
  }
  // Schedule rows of orders nobody knows, waiting for a next hint that its pruned hints no longer
  // stand for. Abandoned ones stay (later hints ask nothing), the newest ABANDONED_KEPT of them.
  await pool.query(
    `DELETE FROM provider_queries q WHERE due_at = 'infinity' AND abandoned_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.kind = q.kind AND o.order_ref = q.order_ref)
       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.order_ref = q.order_ref AND n.kind = q.kind)`,
  );
  await pool.query(
    `DELETE FROM provider_queries WHERE abandoned_at IS NOT NULL AND abandoned_at <= (
       SELECT abandoned_at FROM provider_queries WHERE abandoned_at IS NOT NULL ORDER BY abandoned_at DESC OFFSET $1 LIMIT 1)`,
    [ABANDONED_KEPT],
  );
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

export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storableText(key), storableJson(inner)]));
  }
  return value;
}
