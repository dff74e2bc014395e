import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { Config } from '../config/config.js';
import { parseRetryAfter, retryDelayMs } from '../domain/retry-policy.js';
import type { Metrics } from '../plugins/metrics.js';
import {
  claimDueDeliveries,
  msUntilNextDue,
  OUTBOX_CHANNEL,
  recordAttempts,
  type AttemptOutcome,
  type AttemptResult,
  type ClaimedDelivery,
} from '../store/outbox.js';
import type { Sender } from './http-sender.js';
import { webhookHeaders } from './sign.js';

export interface ForwarderDeps {
  pool: pg.Pool;
  forward: Config['forward'] & { secret: string };
  send: Sender;
  logger: FastifyBaseLogger;
  metrics?: Pick<Metrics, 'deliveries'>;
  now?: () => number;
  random?: () => number;
  /** Deliveries sent at once by this process. */
  concurrency?: number;
  /** Longest sleep when nothing is due and no notification arrives (covers a lost LISTEN). */
  pollMs?: number;
}

export interface Forwarder {
  start(): void;
  /** Stops claiming, waits for in-flight attempts (each bounded by the timeout), then returns. */
  stop(): Promise<void>;
}

/**
 * The outbox loop: claim due deliveries, send them signed, record every attempt. Failures are
 * data: a non-2xx or a timeout becomes an attempt row and a rescheduled (or dead) delivery.
 */
export function createForwarder(deps: ForwarderDeps): Forwarder {
  const { pool, forward, send, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const concurrency = deps.concurrency ?? 8;
  const pollMs = deps.pollMs ?? 1_000;
  // A lease outlives the attempt's own deadline, so a live worker never loses its delivery.
  const leaseMs = 2 * forward.timeoutMs + 5_000;

  const record = coalescedRecorder(pool);
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
    const startedAt = new Date(now());
    const headers = webhookHeaders(forward.secret, delivery.eventId, Math.floor(startedAt.getTime() / 1000), delivery.body);
    const result = await send(delivery.url, headers, delivery.body);
    const durationMs = Math.max(0, now() - startedAt.getTime());
    const ok = result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;
    const attempts = delivery.attempts + 1;

    let outcome: AttemptOutcome;
    if (ok) outcome = { status: 'delivered' };
    else if (attempts >= forward.maxAttempts) outcome = { status: 'dead' };
    else {
      const retryAfterMs = parseRetryAfter(result.retryAfter, now());
      outcome = { status: 'pending', nextAttemptAt: new Date(now() + retryDelayMs(attempts, forward.backoffMs, random, retryAfterMs)) };
    }
    const recorded = await record({
      delivery,
      attempt: { startedAt, durationMs, statusCode: result.statusCode ?? null, error: result.error ?? null },
      outcome,
    });
    const metricOutcome = outcome.status === 'pending' ? 'retry' : outcome.status;
    deps.metrics?.deliveries.inc({ outcome: metricOutcome });
    const facts = { deliveryId: delivery.id, eventId: delivery.eventId, url: delivery.url, attempts, statusCode: result.statusCode, error: result.error };
    if (!recorded) logger.warn(facts, 'delivery attempt not recorded: another worker took the delivery over');
    else if (outcome.status === 'dead') logger.error(facts, 'delivery dead');
    else if (outcome.status === 'pending') logger.warn({ ...facts, nextAttemptAt: outcome.nextAttemptAt }, 'delivery failed, will retry');
    else logger.debug(facts, 'delivery delivered');
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await listen();
        const claimed = await claimDueDeliveries(pool, concurrency, leaseMs);
        if (claimed.length > 0) {
          // Each attempt settles on its own: one failing to record must not cut the others short.
          const results = await Promise.allSettled(claimed.map(attempt));
          for (const result of results) {
            if (result.status === 'rejected') logger.warn({ err: result.reason }, 'delivery attempt not recorded; its lease will expire');
          }
          continue;
        }
        const dueIn = await msUntilNextDue(pool);
        if (running) await sleep(Math.min(dueIn ?? pollMs, pollMs));
      } catch (error) {
        logger.warn({ err: error }, 'forwarder cycle failed; retrying');
        if (running) await sleep(pollMs);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake();
      await loop;
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
