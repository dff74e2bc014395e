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
  /** The traceparent stored with the event (tracing was on when it was written), else null. */
  traceParent: string | null;
}

/** The last error of deliveries whose destination is no longer configured. */
export const DESTINATION_REMOVED = 'DESTINATION_REMOVED';

/**
 * A delivery `d` waits while an earlier delivery of the same order to the same destination is not
 * delivered: still pending, or dead until someone retries it. So each destination sees an order's
 * events in the order they happened, never a state going backwards. Deliveries retired with their
 * destination hold nothing back.
 *
 * `OFFSET 0` keeps it a check per candidate row (an index probe) that the planner cannot turn into
 * an anti join: as a join it was planned over every pending row of a large backlog, before the
 * LIMIT of a claim could stop the walk.
 */
const HELD_BACK = `EXISTS (
  SELECT 1 FROM deliveries earlier
  WHERE earlier.order_id = d.order_id AND earlier.url = d.url
    AND earlier.status IN ('pending', 'dead') AND earlier.id < d.id
    AND earlier.last_error IS DISTINCT FROM '${DESTINATION_REMOVED}'
  OFFSET 0)`;

/** A pending delivery nobody holds a lease on and that waits behind no earlier one of its order. */
const AVAILABLE = `d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < now()) AND NOT ${HELD_BACK}`;

/** The circuit breaker's settings: BREAKER_FAILURES and BREAKER_PROBE_MS. */
export interface BreakerSettings {
  failures: number;
  probeMs: number;
}

/**
 * Leases up to `limit` due deliveries to one destination, each order's events in order
 * (HELD_BACK). SKIP LOCKED and the lease keep replicas from claiming the same row; an expired lease
 * (a crashed worker) makes the delivery claimable again. A paused destination gives nothing; an
 * open one gives one probe, its oldest pending delivery whatever its backoff (the breaker paces
 * it), to the one claim of any replica that moves its next probe time on, and nothing otherwise.
 */
export async function claimDueDeliveries(pool: pg.Pool, limit: number, leaseMs: number, destination: string, probeMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await pool.query<ClaimedDelivery>({ ...CLAIM_DUE_DELIVERIES, values: [limit, leaseMs, destination, probeMs] });
  return rows;
}

/** The claim statement: $1 limit, $2 lease in ms, $3 destination (its stored name), $4 probe interval in ms. */
export const CLAIM_DUE_DELIVERIES = {
  text: `
    WITH gate AS (
      SELECT coalesce((SELECT NOT s.paused AND s.opened_at IS NULL FROM destinations s WHERE s.url = $3), true) AS healthy
    ), probe AS (
      UPDATE destinations s SET next_probe_at = now() + $4 * interval '1 millisecond'
      WHERE s.url = $3 AND NOT s.paused AND s.opened_at IS NOT NULL AND s.next_probe_at <= now()
        AND EXISTS (SELECT 1 FROM deliveries d WHERE d.url = $3 AND ${AVAILABLE})
      RETURNING s.url
    ), due AS (
      SELECT d.id FROM deliveries d
      WHERE (SELECT healthy FROM gate) AND d.url = $3 AND d.next_attempt_at <= now() AND ${AVAILABLE}
      ORDER BY d.next_attempt_at, d.id
      LIMIT $1
      FOR UPDATE OF d SKIP LOCKED
    ), probed AS (
      SELECT d.id FROM deliveries d
      WHERE EXISTS (SELECT 1 FROM probe) AND d.url = $3 AND ${AVAILABLE}
      ORDER BY d.next_attempt_at, d.id
      LIMIT 1
      FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
      SELECT id FROM due UNION ALL SELECT id FROM probed
    )
    UPDATE deliveries d SET lease_until = now() + $2 * interval '1 millisecond'
    FROM claimed, events e
    WHERE d.id = claimed.id AND e.id = d.event_id
    RETURNING d.id, d.url, d.attempts, e.public_id AS "eventId", e.type, e.body, e.created_at AS "createdAt", e.trace_parent AS "traceParent"`,
} as const;

/**
 * Deliveries stored under a destination's URL as configured (credentials and all) take its id,
 * the redacted URL. Returns how many rows were renamed.
 */
export async function adoptRedactedUrls(pool: pg.Pool, destinations: readonly { url: string; id: string }[]): Promise<number> {
  const renames = destinations.filter((destination) => destination.url !== destination.id);
  if (renames.length === 0) return 0;
  const result = await pool.query(`UPDATE deliveries d SET url = r.id FROM unnest($1::text[], $2::text[]) AS r (url, id) WHERE d.url = r.url`, [
    renames.map((rename) => rename.url),
    renames.map((rename) => rename.id),
  ]);
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

/**
 * Milliseconds until the next claimable delivery is due (0 if one is due now); undefined if none is
 * pending. A paused destination has none; an open one its next probe, if anything is pending.
 */
export async function msUntilNextDue(pool: pg.Pool, destinations: readonly string[]): Promise<number | undefined> {
  // Per destination, the first delivery a claim could take, walked in the claim's own index order:
  // one waiting behind an earlier delivery of its order is not due, whatever its own time (reading
  // it as due made the forwarder poll without pause), and one under a live lease is in flight (its
  // worker wakes the loop when it is done; a dead worker's lease is found by the poll). An open
  // destination's next is its probe.
  const { rows } = await pool.query<{ ms: number | null }>(
    // greatest() ignores NULLs: the NULL min() of no rows must stay NULL ("nothing pending").
    `SELECT CASE WHEN next_due IS NULL THEN NULL ELSE greatest(0, extract(epoch FROM (next_due - now())) * 1000)::float8 END AS ms
     FROM (SELECT min(CASE WHEN s.opened_at IS NOT NULL THEN s.next_probe_at ELSE first.next_attempt_at END) AS next_due
     FROM unnest($1::text[]) AS u (url)
     LEFT JOIN destinations s ON s.url = u.url
     CROSS JOIN LATERAL (
       SELECT d.next_attempt_at FROM deliveries d
       WHERE d.url = u.url AND ${AVAILABLE}
       ORDER BY d.next_attempt_at, d.id LIMIT 1) AS first
     WHERE s.paused IS NOT TRUE) AS due`,
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

export interface RecordedAttempts {
  /** Deliveries whose record applied. */
  applied: Set<number>;
  /** Destinations whose breaker this record closed: makeBacklogDue() next. */
  closed: string[];
}

/**
 * Records attempts (of distinct deliveries) and each delivery's new state, in one statement and
 * one transaction. Each applies only if nobody else recorded an attempt of that delivery since the
 * claim (the attempts count is the version).
 *
 * The same statement moves each destination's circuit breaker, whichever replica made the
 * attempts: a success resets its consecutive failures (and, if it was open, closes it: the caller
 * then makes its backlog due with makeBacklogDue); `failures` consecutive failures open it, with
 * the next probe `probeMs` later. A delivery whose destination is open or paused does not die: it
 * waits.
 */
export async function recordAttempts(pool: pg.Pool, results: readonly AttemptResult[], breaker: BreakerSettings): Promise<RecordedAttempts> {
  const health = healthOf(results);
  const { rows } = await pool.query<{ id: number | null; closed: string | null }>({
    text: `
      WITH attempt AS (
        SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::text[],
                             $6::timestamptz[], $7::int[], $8::int[], $9::text[], $10::text[])
          AS a(id, attempts, status, next_attempt_at, last_error, started_at, duration_ms, status_code, error, url)
      ), health AS (
        SELECT * FROM unnest($11::text[], $12::bool[], $13::int[]) AS h(url, succeeded, failures)
      ), before AS (
        -- Locked first, so that the values read are the latest: replicas count failures together.
        SELECT s.url, s.opened_at, s.consecutive_failures FROM destinations s JOIN health USING (url) ORDER BY s.url FOR UPDATE OF s
      ), counted AS (
        SELECT h.*, b.opened_at AS was_opened_at,
               CASE WHEN h.succeeded THEN h.failures ELSE b.consecutive_failures + h.failures END AS n
        FROM health h JOIN before b USING (url)
      ), breaker AS (
        UPDATE destinations s SET
          consecutive_failures = c.n,
          last_success_at = CASE WHEN c.succeeded THEN now() ELSE s.last_success_at END,
          last_failure_at = CASE WHEN c.failures > 0 THEN now() ELSE s.last_failure_at END,
          opened_at = CASE WHEN c.n >= $14 THEN CASE WHEN c.succeeded THEN now() ELSE coalesce(c.was_opened_at, now()) END END,
          next_probe_at = CASE WHEN c.n >= $14 THEN now() + $15 * interval '1 millisecond' END
        FROM counted c
        WHERE s.url = c.url
        RETURNING s.url, s.paused OR s.opened_at IS NOT NULL AS held, s.next_probe_at,
                  c.was_opened_at IS NOT NULL AND s.opened_at IS NULL AS closed
      ), updated AS (
        UPDATE deliveries d SET
          attempts = d.attempts + 1,
          status = CASE WHEN a.status = 'dead' AND br.held IS TRUE THEN 'pending' ELSE a.status END,
          next_attempt_at = CASE
            WHEN a.status = 'delivered' THEN d.next_attempt_at
            WHEN br.closed IS TRUE THEN now()
            WHEN a.status = 'dead' AND br.held IS TRUE THEN coalesce(br.next_probe_at, now())
            ELSE coalesce(a.next_attempt_at, d.next_attempt_at) END,
          delivered_at = CASE WHEN a.status = 'delivered' THEN now() END,
          last_error = a.last_error,
          lease_until = NULL
        FROM attempt a LEFT JOIN breaker br ON br.url = a.url
        WHERE d.id = a.id AND d.attempts = a.attempts AND d.status = 'pending'
        RETURNING d.id
      ), inserted AS (
        INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, status_code, error)
        SELECT a.id, a.started_at, a.duration_ms, a.status_code, a.error FROM attempt a JOIN updated USING (id)
        RETURNING delivery_id AS id
      )
      SELECT id, NULL::text AS closed FROM inserted
      UNION ALL SELECT NULL, url FROM breaker WHERE closed`,
    values: [
      results.map((r) => r.delivery.id),
      results.map((r) => r.delivery.attempts),
      results.map((r) => r.outcome.status),
      results.map((r) => (r.outcome.status === 'pending' ? r.outcome.nextAttemptAt : null)),
      results.map((r) => r.attempt.error ?? (r.attempt.statusCode !== null && r.outcome.status !== 'delivered' ? `HTTP ${r.attempt.statusCode}` : null)),
      results.map((r) => r.attempt.startedAt),
      results.map((r) => r.attempt.durationMs),
      results.map((r) => r.attempt.statusCode),
      results.map((r) => r.attempt.error),
      results.map((r) => r.delivery.url),
      health.map((h) => h.url),
      health.map((h) => h.succeeded),
      health.map((h) => h.failures),
      breaker.failures,
      breaker.probeMs,
    ],
  });
  const applied = new Set<number>();
  const closed: string[] = [];
  for (const row of rows) {
    if (row.id !== null) applied.add(row.id);
    if (row.closed !== null) closed.push(row.closed);
  }
  return { applied, closed };
}

/**
 * Per destination, in the order the attempts finished: whether one succeeded, and the failures
 * after the last success (all of them when none succeeded).
 */
function healthOf(results: readonly AttemptResult[]): { url: string; succeeded: boolean; failures: number }[] {
  const byUrl = new Map<string, { url: string; succeeded: boolean; failures: number }>();
  for (const result of results) {
    const url = result.delivery.url;
    const entry = byUrl.get(url) ?? { url, succeeded: false, failures: 0 };
    if (result.outcome.status === 'delivered') {
      entry.succeeded = true;
      entry.failures = 0;
    } else entry.failures += 1;
    byUrl.set(url, entry);
  }
  return [...byUrl.values()];
}

/**
 * A destination answers again: its whole backlog is due now, not at each delivery's backoff. Its
 * own statement, made only when a breaker closes: as a part of every record, the planner scanned
 * the destination's whole backlog each time (deliveries/s fell with the backlog's size).
 */
export async function makeBacklogDue(pool: pg.Pool, destinations: readonly string[]): Promise<number> {
  const result = await pool.query(
    `UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending' AND url = ANY($1::text[]) AND next_attempt_at > now()`,
    [destinations],
  );
  return result.rowCount ?? 0;
}

/** Pending and dead deliveries, counted on the (status, id) index. */
export async function countDeliveriesByStatus(pool: pg.Pool): Promise<{ pending: number; dead: number }> {
  const { rows } = await pool.query<{ pending: number; dead: number }>(
    `SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending')::int AS pending, (SELECT count(*) FROM deliveries WHERE status = 'dead')::int AS dead`,
  );
  return { pending: rows[0]?.pending ?? 0, dead: rows[0]?.dead ?? 0 };
}
