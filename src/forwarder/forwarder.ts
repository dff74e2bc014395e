import type { FastifyBaseLogger } from 'fastify';
import type { Span } from '@opentelemetry/api';
import type pg from 'pg';
import type { Destination } from '../domain/destination.js';
import { destinationRef } from '../domain/destination-id.js';
import { retryDelayMs } from '../domain/retry-policy.js';
import type { Metrics } from '../plugins/metrics.js';
import { registerDestinations } from '../store/destinations.js';
import { createOutboxListener } from './outbox-listener.js';
import { createWakeSignal } from './wake-signal.js';
import { contextOf, inSpan, SpanKind, traceparentOf } from '../telemetry/trace.js';
import {
  claimDueDeliveries,
  makeBacklogDue,
  wakeForwarders,
  type BreakerSettings,
  msUntilNextDue,
  onLocalWake,
  recordAttempts,
  type AttemptOutcome,
  type AttemptResult,
  type ClaimedDelivery,
} from '../store/outbox.js';

export interface ForwarderDeps {
  pool: pg.Pool;
  /**
   * Direct connections to LISTEN on (DATABASE_DIRECT_URL). Absent: the forwarder polls, woken at
   * once only by this process's own commits; `pool` may then be a transaction-mode pooler.
   */
  listenPool?: pg.Pool;
  /** How often the LISTEN connection is checked with a round trip (a failover can kill it silently). */
  listenCheckMs?: number;
  destinations: readonly Destination[];
  forward: { maxAttempts: number; backoffMs: number; timeoutMs: number };
  /** BREAKER_FAILURES and BREAKER_PROBE_MS; 10 and 30 s when absent. */
  breaker?: BreakerSettings;
  logger: FastifyBaseLogger;
  metrics?: Pick<Metrics, 'deliveries'>;
  now?: () => number;
  random?: () => number;
  /**
   * Attempts in flight at once in this process, per destination (64 by default: each claim and each
   * record then covers more deliveries; against a local downstream 64 delivered 2.7× the new
   * notifications/s of the same run, 16 only 1.0×). Per-order order does not depend on it: a later
   * delivery of an order is never claimed while an earlier one is pending.
   */
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
 * delivery. Each destination has its own `concurrency` slots, refilled within `refillWaitMs` of an
 * attempt finishing, so a slow or unreachable destination never holds back deliveries to the others.
 */
export function createForwarder(deps: ForwarderDeps): Forwarder {
  const { pool, forward, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const concurrency = deps.concurrency ?? 64;
  const refillWaitMs = deps.refillWaitMs ?? 5;
  const pollMs = deps.pollMs ?? 1_000;
  const breaker = deps.breaker ?? { failures: 10, probeMs: 30_000 };
  const byId = new Map(deps.destinations.map((destination) => [destination.id, destination]));
  const refs = new Map(deps.destinations.map((destination) => [destination.id, destinationRef(destination.id)]));
  let registered = false;
  const ids = [...byId.keys()];
  const inFlight = new Map(ids.map((id) => [id, new Set<Promise<void>>()]));
  // A lease outlives the attempt's own deadline, so a live worker never loses its delivery.
  const leaseMs = 2 * forward.timeoutMs + 5_000;

  const record = coalescedRecorder(pool, breaker, (closed) => {
    const names = closed.map((url) => refs.get(url)?.id ?? url);
    makeBacklogDue(pool, closed).then(
      (due) => {
        logger.info({ destinations: names, due }, 'destination answers again: breaker closed, its backlog is due now');
        // Other replicas sleep until the next probe: tell them the backlog is due.
        wakeForwarders(pool);
      },
      // The backlog then goes out at each delivery's own backoff.
      (error: unknown) => logger.warn({ err: error, destinations: names }, 'breaker closed, but its backlog could not be made due'),
    );
  });
  let running = false;
  let loop: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  const { wake, sleep } = createWakeSignal();

  const listener =
    deps.listenPool === undefined ? undefined : createOutboxListener({ listenPool: deps.listenPool, wake, logger, checkMs: deps.listenCheckMs ?? 30_000 });

  /**
   * One delivery attempt, recorded. Tracing on: a span in the trace of the request or query that
   * wrote the event (stored with it), named by the `traceparent` the destination sends.
   */
  function attempt(delivery: ClaimedDelivery): Promise<void> {
    const destination = byId.get(delivery.url) as Destination;
    const attributes = {
      'receiver.destination': refs.get(destination.id)?.id ?? destination.id,
      'receiver.destination_type': destination.type,
      'receiver.event_id': delivery.eventId,
      'receiver.event_type': delivery.type,
      'receiver.attempt': delivery.attempts + 1,
    };
    const kind = destination.type === 'http' ? SpanKind.CLIENT : SpanKind.PRODUCER;
    return inSpan('delivery attempt', { kind, attributes, parent: contextOf(delivery.traceParent) }, (span) => attemptAndRecord(delivery, destination, span));
  }

  async function attemptAndRecord(delivery: ClaimedDelivery, destination: Destination, span: Span | undefined): Promise<void> {
    const startedAt = new Date(now());
    const event = { id: delivery.eventId, type: delivery.type, body: delivery.body, createdAt: delivery.createdAt, traceparent: traceparentOf(span) };
    const result = await destination.deliver(event);
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
    span?.setAttributes({ 'receiver.outcome': outcome.status, ...(statusCode === null ? {} : { 'http.response.status_code': statusCode }) });
    const facts = {
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      destination: delivery.url,
      attempts,
      statusCode,
      error: result.ok ? undefined : result.error,
    };
    if (!recorded) {
      logger.warn(facts, 'delivery attempt not recorded: another worker took the delivery over');
      return;
    }
    deps.metrics?.deliveries.inc({
      destination: refs.get(destination.id)?.id ?? destination.id,
      type: destination.type,
      outcome: outcome.status === 'pending' ? 'retry' : outcome.status,
    });
    if (outcome.status === 'dead') logger.error(facts, 'delivery dead');
    else if (outcome.status === 'pending') logger.warn({ ...facts, nextAttemptAt: outcome.nextAttemptAt }, 'delivery failed, will retry');
    else logger.debug(facts, 'delivery delivered');
  }

  function launch(delivery: ClaimedDelivery, slots: Set<Promise<void>>): void {
    const task = attempt(delivery)
      .catch((error: unknown) => logger.warn({ err: error, deliveryId: delivery.id }, 'delivery attempt not recorded; its lease will expire'))
      .finally(() => {
        slots.delete(task);
        wake();
      });
    slots.add(task);
  }

  const someHalfFree = () => [...inFlight.values()].some((slots) => slots.size <= concurrency / 2);

  /** Fills the free slots of every destination; returns how many deliveries were claimed. */
  async function claimForFreeSlots(): Promise<number> {
    let claimed = 0;
    for (const [id, slots] of inFlight) {
      const free = concurrency - slots.size;
      if (free <= 0) continue;
      const due = await claimDueDeliveries(pool, free, leaseMs, id, breaker.probeMs);
      for (const delivery of due) launch(delivery, slots);
      claimed += due.length;
    }
    return claimed;
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await listener?.ensure();
        if (!registered) {
          await registerDestinations(pool, [...refs.values()]);
          registered = true;
        }
        // Under load every finished attempt wakes the loop: claiming a slot at a time cost a round
        // trip per delivery. Until some destination has half its slots free, wait a few ms at most.
        const refillBy = performance.now() + refillWaitMs;
        while (running && !someHalfFree() && performance.now() < refillBy) await sleep(refillBy - performance.now());
        if ((await claimForFreeSlots()) > 0) continue;
        const open = ids.filter((id) => (inFlight.get(id)?.size ?? 0) < concurrency);
        const dueIn = open.length === 0 ? undefined : await msUntilNextDue(pool, open);
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
      running = true;
      unsubscribe = onLocalWake(pool, wake);
      listener?.start();
      loop = run();
    },
    async stop() {
      running = false;
      unsubscribe?.();
      wake();
      await loop;
      await Promise.allSettled([...inFlight.values()].flatMap((slots) => [...slots]));
      await listener?.stop();
    },
  };
}

/**
 * Records attempts as they finish, several in one statement: the first waits for the current
 * I/O phase to end, and the ones finishing while a record is in flight go together in the next.
 * Each caller still learns whether its own record applied, or gets the statement's error.
 */
function coalescedRecorder(pool: pg.Pool, breaker: BreakerSettings, onClosed: (urls: string[]) => void): (result: AttemptResult) => Promise<boolean> {
  let queue: { result: AttemptResult; resolve: (applied: boolean) => void; reject: (error: unknown) => void }[] = [];
  let flushing = false;
  const flush = async () => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const { applied, closed } = await recordAttempts(
          pool,
          batch.map((entry) => entry.result),
          breaker,
        );
        if (closed.length > 0) onClosed(closed);
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
