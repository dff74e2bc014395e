import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { Destination } from '../domain/destination.js';
import { retryDelayMs } from '../domain/retry-policy.js';
import type { Metrics } from '../plugins/metrics.js';
import {
  claimDueDeliveries,
  msUntilNextDue,
  OUTBOX_CHANNEL,
  recordAttempts,
  retireRemovedDestinations,
  type AttemptOutcome,
  type AttemptResult,
  type ClaimedDelivery,
} from '../store/outbox.js';

export interface ForwarderDeps {
  pool: pg.Pool;
  destinations: readonly Destination[];
  forward: { maxAttempts: number; backoffMs: number; timeoutMs: number };
  logger: FastifyBaseLogger;
  metrics?: Pick<Metrics, 'deliveries'>;
  now?: () => number;
  random?: () => number;
  /** Attempts in flight at once in this process, across destinations. */
  concurrency?: number;
  /**
   * While more than half the slots are busy, how long the loop lets further attempts finish before
   * it claims for the free ones: one claim then fills several slots instead of one per attempt.
   */
  refillWaitMs?: number;
  /** Longest sleep when nothing is due and no notification arrives (covers a lost LISTEN). */
  pollMs?: number;
}

export interface Forwarder {
  start(): Promise<void>;
  /** Stops claiming, waits for in-flight attempts (each bounded by the timeout), then returns. */
  stop(): Promise<void>;
}

/**
 * The outbox loop: claim due deliveries, hand each to its destination, record every attempt.
 * Failures are data: a failed attempt becomes an attempt row and a rescheduled (or dead)
 * delivery. Attempts run side by side up to `concurrency`, and free slots are refilled within
 * `refillWaitMs` of an attempt finishing, so one slow destination never holds back deliveries to
 * the others.
 */
export function createForwarder(deps: ForwarderDeps): Forwarder {
  const { pool, forward, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const concurrency = deps.concurrency ?? 16;
  const refillWaitMs = deps.refillWaitMs ?? 5;
  const pollMs = deps.pollMs ?? 1_000;
  const byId = new Map(deps.destinations.map((destination) => [destination.id, destination]));
  const ids = [...byId.keys()];
  // A lease outlives the attempt's own deadline, so a live worker never loses its delivery.
  const leaseMs = 2 * forward.timeoutMs + 5_000;

  const record = coalescedRecorder(pool);
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  // A wake-up that came while the loop was busy: the next sleep returns at once.
  let woken = false;
  let listener: pg.PoolClient | undefined;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        wakeUp = undefined;
        woken = false;
        resolve();
      }
      wakeUp = finish;
    });

  async function listen(): Promise<void> {
    if (listener !== undefined) return;
    try {
      const client = await pool.connect();
      client.on('notification', wake);
      client.on('error', (error) => {
        logger.warn({ err: error }, 'forwarder lost its LISTEN connection');
        client.release(error);
        if (listener === client) listener = undefined;
      });
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      listener = client;
    } catch (error) {
      logger.warn({ err: error }, 'forwarder cannot LISTEN; polling');
    }
  }

  async function attempt(delivery: ClaimedDelivery): Promise<void> {
    const destination = byId.get(delivery.url) as Destination;
    const startedAt = new Date(now());
    const result = await destination.deliver({ id: delivery.eventId, type: delivery.type, body: delivery.body, createdAt: delivery.createdAt });
    const durationMs = Math.max(0, now() - startedAt.getTime());
    const attempts = delivery.attempts + 1;

    let outcome: AttemptOutcome;
    if (result.ok) outcome = { status: 'delivered' };
    else if (attempts >= forward.maxAttempts) outcome = { status: 'dead' };
    else outcome = { status: 'pending', nextAttemptAt: new Date(now() + retryDelayMs(attempts, forward.backoffMs, random, result.retryAfterMs)) };
    const statusCode = result.statusCode ?? null;
    // An answer's status code says what happened; the error text is kept for attempts without one.
    const error = result.ok || statusCode !== null ? null : result.error;
    const recorded = await record({ delivery, attempt: { startedAt, durationMs, statusCode, error }, outcome });
    const facts = { deliveryId: delivery.id, eventId: delivery.eventId, destination: delivery.url, attempts, statusCode, error: result.ok ? undefined : result.error };
    if (!recorded) {
      logger.warn(facts, 'delivery attempt not recorded: another worker took the delivery over');
      return;
    }
    deps.metrics?.deliveries.inc({ destination: destination.type, outcome: outcome.status === 'pending' ? 'retry' : outcome.status });
    if (outcome.status === 'dead') logger.error(facts, 'delivery dead');
    else if (outcome.status === 'pending') logger.warn({ ...facts, nextAttemptAt: outcome.nextAttemptAt }, 'delivery failed, will retry');
    else logger.debug(facts, 'delivery delivered');
  }

  function launch(delivery: ClaimedDelivery): void {
    const task = attempt(delivery)
      .catch((error: unknown) => logger.warn({ err: error, deliveryId: delivery.id }, 'delivery attempt not recorded; its lease will expire'))
      .finally(() => {
        inFlight.delete(task);
        wake();
      });
    inFlight.add(task);
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await listen();
        // Under load every finished attempt wakes the loop: claiming a slot at a time cost a round
        // trip per delivery. Let the busy slots drain to half first, for a few ms at most.
        const refillBy = performance.now() + refillWaitMs;
        while (running && inFlight.size > concurrency / 2 && performance.now() < refillBy) await sleep(refillBy - performance.now());
        const free = concurrency - inFlight.size;
        const claimed = free > 0 ? await claimDueDeliveries(pool, free, leaseMs, ids) : [];
        for (const delivery of claimed) launch(delivery);
        if (claimed.length > 0 && claimed.length === free) {
          // Every slot is busy: wait for one to free up (or for a wake-up).
          await sleep(pollMs);
          continue;
        }
        if (claimed.length > 0) continue;
        const dueIn = inFlight.size === concurrency ? undefined : await msUntilNextDue(pool, ids);
        if (running) await sleep(Math.min(dueIn ?? pollMs, pollMs));
      } catch (error) {
        logger.warn({ err: error }, 'forwarder cycle failed; retrying');
        if (running) await sleep(pollMs);
      }
    }
  }

  return {
    async start() {
      if (running) return;
      const retired = await retireRemovedDestinations(pool, ids);
      if (retired > 0) logger.warn({ retired }, 'pending deliveries to removed destinations marked dead');
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake();
      await loop;
      await Promise.allSettled([...inFlight]);
      if (listener !== undefined) {
        const client = listener;
        listener = undefined;
        await client.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => {});
        client.release();
      }
    },
  };
}

/**
 * Records attempts as they finish, several in one statement: the first waits for the current
 * I/O phase to end, and the ones finishing while a record is in flight go together in the next.
 * Each caller still learns whether its own record applied, or gets the statement's error.
 */
function coalescedRecorder(pool: pg.Pool): (result: AttemptResult) => Promise<boolean> {
  let queue: { result: AttemptResult; resolve: (applied: boolean) => void; reject: (error: unknown) => void }[] = [];
  let flushing = false;
  const flush = async () => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const applied = await recordAttempts(pool, batch.map((entry) => entry.result));
        for (const entry of batch) entry.resolve(applied.has(entry.result.delivery.id));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    flushing = false;
  };
  return (result) =>
    new Promise<boolean>((resolve, reject) => {
      queue.push({ result, resolve, reject });
      if (flushing) return;
      flushing = true;
      setImmediate(() => void flush());
    });
}
