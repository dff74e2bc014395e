import type pg from 'pg';

/** Most rows one purge statement touches. */
export const PURGE_BATCH_ROWS = 1_000;

/** Serialises the purge across replicas; any constant, distinct from the migration lock. */
export const PURGE_LOCK = 7_391_002_212;

/**
 * Request bodies of notifications first received more than $1 ms ago: the stored body, parsed
 * request, signed text and signature go; the row, its dedup key (a resend is still a duplicate),
 * its order and the order's events stay. Unverified hints are left to the count-bounded pruning.
 * $2: batch size. Walks notifications_unpurged_received_idx from the oldest row.
 */
export const PURGE_RAW_BODIES = `
  WITH batch AS (
    SELECT id FROM notifications
    WHERE request_purged_at IS NULL AND status <> 'unverified'
      AND first_received_at < now() - $1::bigint * interval '1 millisecond'
    ORDER BY first_received_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE notifications n
  SET request = NULL, body = NULL, signed_text = NULL, signature = NULL, request_purged_at = now()
  FROM batch WHERE n.id = batch.id`;

/**
 * Attempt records of deliveries delivered more than $1 ms ago, for a batch of deliveries holding
 * at most $2 attempt rows between them (and at least one delivery, however many it has). The
 * delivery keeps `attempts` and `delivered_at`; dead and pending deliveries keep their records.
 * Walks deliveries_delivered_unpurged_idx from the oldest delivery.
 */
export const PURGE_ATTEMPT_LOGS = `
  WITH candidates AS (
    SELECT id, attempts, delivered_at FROM deliveries
    WHERE status = 'delivered' AND attempt_log_purged_at IS NULL
      AND delivered_at < now() - $1::bigint * interval '1 millisecond'
    ORDER BY delivered_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ), batch AS (
    SELECT id FROM (
      SELECT id, attempts, sum(attempts) OVER (ORDER BY delivered_at, id) AS running FROM candidates
    ) AS counted
    WHERE running <= $2 OR running = attempts
  ), marked AS (
    UPDATE deliveries d SET attempt_log_purged_at = now() FROM batch WHERE d.id = batch.id RETURNING d.id
  ), deleted AS (
    -- = ANY(array): one probe of delivery_attempts_delivery_id_idx per delivery, never a hash join over the table
    DELETE FROM delivery_attempts a WHERE a.delivery_id = ANY (ARRAY(SELECT id FROM marked)) RETURNING a.id
  )
  SELECT (SELECT count(*) FROM marked)::int AS deliveries, (SELECT count(*) FROM deleted)::int AS attempts`;

export type PurgeBatch = { busy: true } | { busy: false; rawBodies: number; attemptLogs: number; deliveries: number };

/**
 * One batch of each purge, in one short transaction that first takes the purge lock: while another
 * replica holds it this one purges nothing (`busy`). The lock is transaction-scoped, so it holds
 * through a transaction-mode pooler and ends with the transaction, whatever happens to the process.
 */
export async function purgeBatch(pool: pg.Pool, retention: { rawBodyMs: number; attemptLogMs: number }, batchRows = PURGE_BATCH_ROWS): Promise<PurgeBatch> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [PURGE_LOCK]);
    if (rows[0]?.locked !== true) {
      await client.query('COMMIT');
      client.release();
      return { busy: true };
    }
    const bodies = await client.query(PURGE_RAW_BODIES, [retention.rawBodyMs, batchRows]);
    const logs = await client.query<{ deliveries: number; attempts: number }>(PURGE_ATTEMPT_LOGS, [retention.attemptLogMs, batchRows]);
    await client.query('COMMIT');
    client.release();
    return { busy: false, rawBodies: bodies.rowCount ?? 0, attemptLogs: logs.rows[0]?.attempts ?? 0, deliveries: logs.rows[0]?.deliveries ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(error as Error);
    throw error;
  }
}
