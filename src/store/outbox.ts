import type pg from 'pg';

/** The channel ingest_notification() notifies when it commits new deliveries. */
export const OUTBOX_CHANNEL = 'starpay_outbox';

export interface ClaimedDelivery {
  id: number;
  url: string;
  /** Attempts before this one; doubles as an optimistic version when the result is recorded. */
  attempts: number;
  eventId: string;
  body: string;
}

/**
 * Leases up to `limit` due deliveries. A delivery waits while an earlier delivery of the same
 * order to the same URL is still pending, so each URL sees an order's events in order. SKIP LOCKED
 * and the lease keep replicas from claiming the same row; an expired lease (a crashed worker)
 * makes the delivery claimable again.
 */
export async function claimDueDeliveries(pool: pg.Pool, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await pool.query<ClaimedDelivery>({
    name: 'claim_due_deliveries',
    text: `
      WITH due AS (
        SELECT d.id FROM deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until < now())
          AND NOT EXISTS (
            SELECT 1 FROM deliveries earlier
            WHERE earlier.order_id = d.order_id AND earlier.url = d.url
              AND earlier.status = 'pending' AND earlier.id < d.id)
        ORDER BY d.next_attempt_at, d.id
        LIMIT $1
        FOR UPDATE OF d SKIP LOCKED
      )
      UPDATE deliveries d SET lease_until = now() + $2 * interval '1 millisecond'
      FROM due, events e
      WHERE d.id = due.id AND e.id = d.event_id
      RETURNING d.id, d.url, d.attempts, e.public_id AS "eventId", e.body`,
    values: [limit, leaseMs],
  });
  return rows;
}

/** Milliseconds until the next pending delivery is due (0 if one is due now); undefined if none is pending. */
export async function msUntilNextDue(pool: pg.Pool): Promise<number | undefined> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT greatest(0, extract(epoch FROM (min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at))) - now())) * 1000)::float8 AS ms
     FROM deliveries WHERE status = 'pending'`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : ms;
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

/** The delivery's fate after an attempt: delivered, retried at `nextAttemptAt`, or dead. */
export type AttemptOutcome = { status: 'delivered' } | { status: 'pending'; nextAttemptAt: Date } | { status: 'dead' };

/**
 * Records an attempt and the delivery's new state in one statement. Applies only if nobody else
 * recorded an attempt since the claim (the attempts count is the version); returns whether it did.
 */
export async function recordAttempt(
  pool: pg.Pool,
  delivery: ClaimedDelivery,
  attempt: AttemptRecord,
  outcome: AttemptOutcome,
): Promise<boolean> {
  const { rowCount } = await pool.query({
    name: 'record_attempt',
    text: `
      WITH updated AS (
        UPDATE deliveries SET
          attempts = attempts + 1,
          status = $3,
          next_attempt_at = coalesce($4, next_attempt_at),
          delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
          last_error = $5,
          lease_until = NULL
        WHERE id = $1 AND attempts = $2 AND status = 'pending'
        RETURNING id
      )
      INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, status_code, error)
      SELECT id, $6, $7, $8, $9 FROM updated`,
    values: [
      delivery.id,
      delivery.attempts,
      outcome.status,
      outcome.status === 'pending' ? outcome.nextAttemptAt : null,
      attempt.error ?? (attempt.statusCode !== null && outcome.status !== 'delivered' ? `HTTP ${attempt.statusCode}` : null),
      attempt.startedAt,
      attempt.durationMs,
      attempt.statusCode,
      attempt.error,
    ],
  });
  return rowCount === 1;
}

export async function countPendingDeliveries(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'");
  return rows[0]?.n ?? 0;
}
