import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { StateReport } from '../domain/provider.js';
import { storableText, toJsonb, type IngestResult, type IngestOutcome, type IngestTargets } from './ingest.js';
import { inAuditedTransaction, type AuditEntry } from './audit.js';
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
 * The database's clock, read before a provider is asked: hints received after it are newer than
 * the question, so its answer does not settle them. Text keeps the microseconds a Date would drop.
 */
export async function askTime(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ at: string }>('SELECT clock_timestamp()::text AS at');
  return (rows[0] as { at: string }).at;
}

/**
 * Applies a query answer like a notification (source `query`) through the one state rule, keeps it
 * as a notification, and settles the order's unverified hints received by `askedAt` (all when
 * null), in one statement and transaction.
 */
export async function recordQueryAnswer(
  pool: pg.Pool,
  answer: FoundAnswer,
  targets: IngestTargets,
  askedAt: string | null = null,
  audit?: (result: IngestResult) => AuditEntry,
  /** Tracing on: the query's span, stored with the event the answer writes (events.trace_parent). */
  traceparent?: string,
): Promise<IngestResult> {
  const r = answer.report;
  const t = storableText;
  const run = async (db: Pick<pg.ClientBase, 'query'>): Promise<IngestResult> => {
    const { rows } = await db.query<{ outcome: IngestOutcome; event_id: string | null }>({
      text: `SELECT outcome, event_id FROM record_query_answer(
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 * interval '1 millisecond', $17::timestamptz, $18::text)`,
      values: [
        r.provider,
        r.kind,
        t(r.orderRef),
        answerKey(answer),
        t(answer.msgId),
        t(r.rawState),
        r.state,
        r.amount,
        r.paidAmount,
        t(r.currency),
        t(r.trxDate),
        t(r.errorCode),
        t(r.errorMessage),
        toJsonb(answer.response),
        targets.destinations,
        targets.firstQueryAfterMs,
        askedAt,
        traceparent ?? null,
      ],
    });
    const row = rows[0];
    if (row === undefined) throw new Error('record_query_answer returned no row');
    return { outcome: row.outcome, eventId: row.event_id };
  };
  // An operator's reconcile is audited in the answer's own transaction.
  const result = audit !== undefined ? await inAuditedTransaction(pool, run, audit) : await run(pool);
  if (result.eventId !== null && targets.destinations.length > 0) wakeForwarders(pool);
  return result;
}

/**
 * The provider does not know the order: its unverified hints received by `askedAt` (all when null)
 * are rejected, nothing else changes.
 */
export async function rejectUnknownOrderHints(
  pool: pg.Pool,
  kind: string,
  orderRef: string,
  askedAt: string | null = null,
  audit?: (rejected: number) => AuditEntry,
): Promise<number> {
  const run = async (db: Pick<pg.ClientBase, 'query'>): Promise<number> => {
    const { rows } = await db.query<{ settled: number }>('SELECT settle_hints($1, $2, NULL, $3::timestamptz) AS settled', [kind, orderRef, askedAt]);
    return rows[0]?.settled ?? 0;
  };
  return audit === undefined ? run(pool) : inAuditedTransaction(pool, run, audit);
}

/** An order (or an unverified hint's order reference) whose provider is to be asked now. */
export interface DueQuery {
  provider: string;
  kind: string;
  orderRef: string;
  /** The order's state, or null when only hints name it. */
  state: string | null;
  hasHints: boolean;
  /** Asked because a hint arrived since the last claim: such a query uses up no slot. */
  hinted: boolean;
}

/**
 * Leases up to `limit` due queries of the given kinds. SKIP LOCKED and the lease keep replicas
 * from asking about the same order at once; an expired lease (a crashed worker) frees it again.
 * Orders only unsigned hints name take at most half of a round, so that a flood of invented
 * references never holds back the reconciliation of orders the service knows.
 */
export async function claimDueQueries(pool: pg.Pool, limit: number, leaseMs: number, kinds: readonly string[]): Promise<DueQuery[]> {
  const due = (known: boolean, take: string) => `
        SELECT q.kind, q.order_ref, q.hint_at, q.claimed_at FROM provider_queries q
        WHERE q.due_at <= now() AND (q.lease_until IS NULL OR q.lease_until < now()) AND q.kind = ANY($3::text[])
          AND ${known ? '' : 'NOT '}EXISTS (SELECT 1 FROM orders o WHERE o.kind = q.kind AND o.order_ref = q.order_ref)
        ORDER BY q.due_at
        LIMIT ${take}
        FOR UPDATE OF q SKIP LOCKED`;
  const { rows } = await pool.query<DueQuery>({
    text: `
      WITH hinted AS (${due(false, '($1::int + 1) / 2')}),
      known AS (${due(true, '$1::int - (SELECT count(*) FROM hinted)')}),
      due AS (SELECT * FROM hinted UNION ALL SELECT * FROM known)
      UPDATE provider_queries q SET lease_until = now() + $2 * interval '1 millisecond', claimed_at = clock_timestamp()
      FROM due WHERE q.kind = due.kind AND q.order_ref = due.order_ref
      RETURNING q.provider, q.kind, q.order_ref AS "orderRef",
        (SELECT o.state FROM orders o WHERE o.kind = q.kind AND o.order_ref = q.order_ref) AS state,
        EXISTS (SELECT 1 FROM notifications n WHERE n.kind = q.kind AND n.order_ref = q.order_ref AND n.status = 'unverified') AS "hasHints",
        (due.hint_at IS NOT NULL AND (due.claimed_at IS NULL OR due.hint_at > due.claimed_at)) AS hinted`,
    values: [limit, leaseMs, kinds],
  });
  return rows;
}

/**
 * Leases one order's query for a caller that asks now (POST …/reconcile), creating its row if
 * the order is not scheduled. False while another worker holds the lease: one query per order.
 */
export async function leaseQuery(pool: pg.Pool, provider: string, kind: string, orderRef: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO provider_queries AS q (kind, order_ref, provider, due_at, lease_until, claimed_at)
     VALUES ($1, $2, $3, now(), now() + $4 * interval '1 millisecond', clock_timestamp())
     ON CONFLICT ON CONSTRAINT provider_queries_pkey DO UPDATE SET lease_until = EXCLUDED.lease_until, claimed_at = EXCLUDED.claimed_at
     WHERE q.lease_until IS NULL OR q.lease_until < now()`,
    [kind, orderRef, provider, leaseMs],
  );
  return rowCount === 1;
}

/** Answers (not found, try later) after which an order only hints name leaves the schedule for good. */
export const UNKNOWN_ANSWERS_KEPT = 3;

/** When a hint that arrived during a query asks again: hint_query_due() from this answer. */
const HINT_REASK = `hint_query_due(clock_timestamp())`;

/**
 * After an answer (found or not found). A query due by the schedule uses up a slot of a still
 * PENDING order (past the last one the order is marked stale and leaves the schedule). Then: a
 * hint that arrived since the claim asks again when hint_query_due() says; a PENDING
 * order waits for its next slot; an order only hints name (its provider did not know it) waits for
 * the next hint, and after UNKNOWN_ANSWERS_KEPT such answers is abandoned; anything else leaves
 * the schedule. The row is locked first, so a hint committing meanwhile is either seen here or
 * finds no row and schedules its own query. Returns whether the order just became stale.
 */
export async function finishAnsweredQuery(
  pool: pg.Pool,
  kind: string,
  orderRef: string,
  scheduleMs: readonly number[],
  usesSlot: boolean,
): Promise<{ stale: boolean }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const queued = await client.query<{ fresh_hint: boolean; known: boolean }>(
      `SELECT coalesce(hint_at > claimed_at, false) AS fresh_hint,
              EXISTS (SELECT 1 FROM orders o WHERE o.kind = q.kind AND o.order_ref = q.order_ref) AS known
       FROM provider_queries q WHERE kind = $1 AND order_ref = $2 FOR UPDATE`,
      [kind, orderRef],
    );
    const row = queued.rows[0];
    let becameStale = false;
    if (usesSlot) {
      const used = await client.query<{ stale: boolean }>(
        `UPDATE orders SET query_slot = query_slot + 1, stale = query_slot + 1 >= cardinality($3::bigint[])
         WHERE kind = $1 AND order_ref = $2 AND state = 'PENDING' AND NOT stale RETURNING stale`,
        [kind, orderRef, scheduleMs],
      );
      becameStale = used.rows[0]?.stale ?? false;
    }
    if (row !== undefined && !row.known) {
      await countUnknownAnswer(client, kind, orderRef, row.fresh_hint ? HINT_REASK : `'infinity'::timestamptz`);
    } else if (row?.fresh_hint === true) {
      await client.query(
        `UPDATE provider_queries SET due_at = ${HINT_REASK}, lease_until = NULL, answered_at = clock_timestamp() WHERE kind = $1 AND order_ref = $2`,
        [kind, orderRef],
      );
    } else {
      const next = await client.query(
        `UPDATE provider_queries q SET lease_until = NULL, failures = 0, answered_at = clock_timestamp(),
           due_at = now() + query_slot_wait($3::bigint[], o.query_slot)
         FROM orders o
         WHERE q.kind = $1 AND q.order_ref = $2 AND o.kind = q.kind AND o.order_ref = q.order_ref AND o.state = 'PENDING' AND NOT o.stale`,
        [kind, orderRef, scheduleMs],
      );
      if (next.rowCount === 0) await client.query('DELETE FROM provider_queries WHERE kind = $1 AND order_ref = $2', [kind, orderRef]);
    }
    await client.query('COMMIT');
    client.release();
    return { stale: becameStale };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    // A connection that failed (or timed out) mid-transaction is not given back to the pool.
    client.release(error as Error);
    throw error;
  }
}

/**
 * One more answer that did not make a hint-only order known: it is due next at `dueAt` (SQL), or,
 * at the UNKNOWN_ANSWERS_KEPT-th, abandoned (never due; hints no longer ask).
 */
async function countUnknownAnswer(client: pg.ClientBase, kind: string, orderRef: string, dueAt: string): Promise<void> {
  await client.query(
    `UPDATE provider_queries SET lease_until = NULL, unknown_answers = unknown_answers + 1, answered_at = clock_timestamp(),
       abandoned_at = CASE WHEN unknown_answers + 1 >= $3 THEN now() END,
       due_at = CASE WHEN unknown_answers + 1 >= $3 THEN 'infinity'::timestamptz ELSE ${dueAt} END
     WHERE kind = $1 AND order_ref = $2`,
    [kind, orderRef, UNKNOWN_ANSWERS_KEPT],
  );
}

/**
 * A try-later answer does not use up a slot: the same slot's wait, then ask again. For an order
 * only hints name it counts as an unknown answer (the third abandons it).
 */
export async function postponeQuery(pool: pg.Pool, kind: string, orderRef: string, scheduleMs: readonly number[]): Promise<void> {
  const slotWait = `now() + query_slot_wait($3::bigint[],
         coalesce((SELECT o.query_slot FROM orders o WHERE o.kind = q.kind AND o.order_ref = q.order_ref), 0))`;
  await pool.query(
    `UPDATE provider_queries q SET lease_until = NULL, failures = failures + 1, answered_at = clock_timestamp(),
       unknown_answers = unknown_answers + CASE WHEN k.known THEN 0 ELSE 1 END,
       abandoned_at = CASE WHEN NOT k.known AND unknown_answers + 1 >= $4 THEN now() END,
       due_at = CASE WHEN NOT k.known AND unknown_answers + 1 >= $4 THEN 'infinity'::timestamptz ELSE ${slotWait} END
     FROM (SELECT EXISTS (SELECT 1 FROM orders o WHERE o.kind = $1 AND o.order_ref = $2) AS known) AS k
     WHERE q.kind = $1 AND q.order_ref = $2`,
    [kind, orderRef, scheduleMs, UNKNOWN_ANSWERS_KEPT],
  );
}

/**
 * Removes an order from the schedule without asking (final, or not queryable any more), unless a
 * hint arrived since the claim: then it stays, due now.
 */
export async function dropQuery(pool: pg.Pool, kind: string, orderRef: string): Promise<void> {
  await pool.query(`DELETE FROM provider_queries WHERE kind = $1 AND order_ref = $2 AND (hint_at IS NULL OR claimed_at IS NULL OR hint_at <= claimed_at)`, [
    kind,
    orderRef,
  ]);
  await pool.query('UPDATE provider_queries SET lease_until = NULL WHERE kind = $1 AND order_ref = $2', [kind, orderRef]);
}

/**
 * PENDING, not stale, queryable orders that are not in the schedule (those pending before this
 * version, or from before a provider's API was configured) enter it through enter_schedule(),
 * spread at random over the first slot rather than all asked at once. Returns how many.
 */
export async function scheduleUnscheduledOrders(pool: pg.Pool, kinds: readonly string[], firstSlotMs: number): Promise<number> {
  const { rows } = await pool.query<{ entered: number }>(
    `WITH entered AS MATERIALIZED (
       SELECT enter_schedule(o.kind, o.order_ref, o.provider, now() + random() * $2::bigint * interval '1 millisecond')
       FROM orders o
       WHERE o.state = 'PENDING' AND NOT o.stale AND o.kind = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM provider_queries q WHERE q.kind = o.kind AND q.order_ref = o.order_ref))
     SELECT count(*)::int AS entered FROM entered`,
    [kinds, firstSlotMs],
  );
  return rows[0]?.entered ?? 0;
}
