import type pg from 'pg';

/** The channel forwarders listen on; notified after a commit writes new deliveries. */
export const OUTBOX_CHANNEL = 'receiver_outbox';

/** Wake-ups from one process are at least this far apart; the ones in between are coalesced. */
export const WAKE_INTERVAL_MS = 20;

const wakers = new WeakMap<pg.Pool, () => void>();
const localForwarders = new WeakMap<pg.Pool, Set<() => void>>();

/**
 * `wake` runs whenever this process commits deliveries over `pool`: a forwarder without LISTEN
 * (behind a transaction-mode pooler) still starts on this process's own events at once, and only
 * other replicas' events wait for its poll. Returns the unsubscribe.
 */
export function onLocalWake(pool: pg.Pool, wake: () => void): () => void {
  let set = localForwarders.get(pool);
  if (set === undefined) {
    set = new Set();
    localForwarders.set(pool, set);
  }
  set.add(wake);
  return () => set.delete(wake);
}

/**
 * Tells every forwarder (this process's and other replicas') that new deliveries were committed.
 * Called after the commit, never inside the ingest transaction: a NOTIFY takes a cluster-wide lock
 * at commit and holds it through the WAL flush, which would serialise every ingest's fsync. Calls
 * are coalesced: one NOTIFY at once, at most one per WAKE_INTERVAL_MS, and one more after it if
 * more commits came meanwhile. It is asynchronous commit, since a lost wake-up is harmless:
 * forwarders also poll.
 */
export function wakeForwarders(pool: pg.Pool): void {
  for (const local of localForwarders.get(pool) ?? []) local();
  let wake = wakers.get(pool);
  if (wake === undefined) {
    wake = coalescedNotify(pool);
    wakers.set(pool, wake);
  }
  wake();
}

function coalescedNotify(pool: pg.Pool): () => void {
  let inFlight = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  const send = () => {
    inFlight = true;
    again = false;
    lastSentAt = Date.now();
    pool
      .query({
        text: `SELECT set_config('synchronous_commit', 'off', true), pg_notify('${OUTBOX_CHANNEL}', '')`,
      })
      .catch(() => {
        // the forwarders' polling covers a lost wake-up
      })
      .finally(() => {
        inFlight = false;
        if (again) wake();
      });
  };
  const wake = () => {
    if (inFlight) {
      again = true;
      return;
    }
    if (timer !== undefined) return;
    const wait = lastSentAt + WAKE_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      send();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      send();
    }, wait);
    timer.unref();
  };
  return wake;
}

export interface ClaimedDelivery {
  id: number;
  /** The destination's id: its URL with credentials replaced by ***. */
  url: string;
  /** Attempts before this one; doubles as an optimistic version when the result is recorded. */
  attempts: number;
  eventId: string;
  type: string;
  body: string;
  createdAt: Date;
}

/** The last error of deliveries whose destination is no longer configured. */
export const DESTINATION_REMOVED = 'DESTINATION_REMOVED';

/**
 * A delivery `d` waits while an earlier delivery of the same order to the same destination is not
 * delivered: still pending, or dead until someone retries it. So each destination sees an order's
 * events in the order they happened, never a state going backwards. Deliveries retired with their
 * destination hold nothing back.
 */
const HELD_BACK = `EXISTS (
  SELECT 1 FROM deliveries earlier
  WHERE earlier.order_id = d.order_id AND earlier.url = d.url
    AND earlier.status IN ('pending', 'dead') AND earlier.id < d.id
    AND earlier.last_error IS DISTINCT FROM '${DESTINATION_REMOVED}')`;

/**
 * Leases up to `limit` due deliveries to the given destinations, each destination's events of an
 * order in order (HELD_BACK). SKIP LOCKED and the lease keep replicas from claiming the same row;
 * an expired lease (a crashed worker) makes the delivery claimable again.
 */
export async function claimDueDeliveries(
  pool: pg.Pool,
  limit: number,
  leaseMs: number,
  destinations: readonly string[],
): Promise<ClaimedDelivery[]> {
  const { rows } = await pool.query<ClaimedDelivery>({ ...CLAIM_DUE_DELIVERIES, values: [limit, leaseMs, destinations] });
  return rows;
}

/** The claim statement: $1 limit, $2 lease in ms, $3 destination ids. */
export const CLAIM_DUE_DELIVERIES = {
  text: `
    WITH due AS (
      SELECT d.id FROM deliveries d
      WHERE d.status = 'pending' AND d.next_attempt_at <= now()
        AND (d.lease_until IS NULL OR d.lease_until < now())
        AND d.url = ANY($3::text[])
        AND NOT ${HELD_BACK}
      ORDER BY d.next_attempt_at, d.id
      LIMIT $1
      FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE deliveries d SET lease_until = now() + $2 * interval '1 millisecond'
    FROM due, events e
    WHERE d.id = due.id AND e.id = d.event_id
    RETURNING d.id, d.url, d.attempts, e.public_id AS "eventId", e.type, e.body, e.created_at AS "createdAt"`,
} as const;

/**
 * Deliveries stored under a destination's URL as configured (credentials and all) take its id,
 * the redacted URL. Returns how many rows were renamed.
 */
export async function adoptRedactedUrls(pool: pg.Pool, destinations: readonly { url: string; id: string }[]): Promise<number> {
  const renames = destinations.filter((destination) => destination.url !== destination.id);
  if (renames.length === 0) return 0;
  const result = await pool.query(
    `UPDATE deliveries d SET url = r.id FROM unnest($1::text[], $2::text[]) AS r (url, id) WHERE d.url = r.url`,
    [renames.map((rename) => rename.url), renames.map((rename) => rename.id)],
  );
  return result.rowCount ?? 0;
}

/**
 * Pending deliveries to destinations that are no longer configured become dead with
 * DESTINATION_REMOVED (and hold nothing back). Returns how many.
 */
export async function retireRemovedDestinations(pool: pg.Pool, destinations: readonly string[]): Promise<number> {
  const result = await pool.query(
    `UPDATE deliveries SET status = 'dead', last_error = '${DESTINATION_REMOVED}', lease_until = NULL
     WHERE status = 'pending' AND NOT (url = ANY($1::text[]))`,
    [destinations],
  );
  return result.rowCount ?? 0;
}

/** Milliseconds until the next claimable delivery is due (0 if one is due now); undefined if none is pending. */
export async function msUntilNextDue(pool: pg.Pool, destinations: readonly string[]): Promise<number | undefined> {
  // Only deliveries a claim could take count: one waiting behind an earlier delivery of its order
  // is not due, whatever its own time. And greatest() ignores NULLs, so the outer one must not see
  // the NULL min() of no rows. Either mistake made "nothing claimable" read as "due now", and the
  // forwarder polled without pause.
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT CASE WHEN next_due IS NULL THEN NULL ELSE greatest(0, extract(epoch FROM (next_due - now())) * 1000)::float8 END AS ms
     FROM (SELECT min(greatest(d.next_attempt_at, coalesce(d.lease_until, d.next_attempt_at))) AS next_due
           FROM deliveries d
           WHERE d.status = 'pending' AND d.url = ANY($1::text[])
             AND NOT ${HELD_BACK}) AS due`,
    [destinations],
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

export interface AttemptResult {
  delivery: ClaimedDelivery;
  attempt: AttemptRecord;
  outcome: AttemptOutcome;
}

/**
 * Records attempts (of distinct deliveries) and each delivery's new state, in one statement and
 * one transaction. Each applies only if nobody else recorded an attempt of that delivery since the
 * claim (the attempts count is the version); returns the ids of the deliveries whose record did.
 */
export async function recordAttempts(pool: pg.Pool, results: readonly AttemptResult[]): Promise<Set<number>> {
  const { rows } = await pool.query<{ id: number }>({
    text: `
      WITH attempt AS (
        SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::text[],
                             $6::timestamptz[], $7::int[], $8::int[], $9::text[])
          AS a(id, attempts, status, next_attempt_at, last_error, started_at, duration_ms, status_code, error)
      ), updated AS (
        UPDATE deliveries d SET
          attempts = d.attempts + 1,
          status = a.status,
          next_attempt_at = coalesce(a.next_attempt_at, d.next_attempt_at),
          delivered_at = CASE WHEN a.status = 'delivered' THEN now() END,
          last_error = a.last_error,
          lease_until = NULL
        FROM attempt a
        WHERE d.id = a.id AND d.attempts = a.attempts AND d.status = 'pending'
        RETURNING d.id
      )
      INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, status_code, error)
      SELECT a.id, a.started_at, a.duration_ms, a.status_code, a.error FROM attempt a JOIN updated USING (id)
      RETURNING delivery_id AS id`,
    values: [
      results.map((r) => r.delivery.id),
      results.map((r) => r.delivery.attempts),
      results.map((r) => r.outcome.status),
      results.map((r) => (r.outcome.status === 'pending' ? r.outcome.nextAttemptAt : null)),
      results.map((r) =>
        r.attempt.error ?? (r.attempt.statusCode !== null && r.outcome.status !== 'delivered' ? `HTTP ${r.attempt.statusCode}` : null),
      ),
      results.map((r) => r.attempt.startedAt),
      results.map((r) => r.attempt.durationMs),
      results.map((r) => r.attempt.statusCode),
      results.map((r) => r.attempt.error),
    ],
  });
  return new Set(rows.map((row) => row.id));
}

export async function countPendingDeliveries(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'");
  return rows[0]?.n ?? 0;
}
