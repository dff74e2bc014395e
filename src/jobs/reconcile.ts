import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { clipForLog } from '../domain/log-text.js';
import { firstSlotMs } from '../domain/reconcile-schedule.js';
import { isOrderRef } from '../domain/order-ref.js';
import type { Provider, QueryAnswer } from '../domain/provider.js';
import type { Metrics } from '../plugins/metrics.js';
import { providerOfKind } from '../providers/index.js';
import type { Transition } from '../domain/order-state.js';
import type { AuditEntryOf } from '../store/audit.js';
import type { IngestTargets } from '../store/ingest.js';
import {
  askTime,
  claimDueQueries,
  dropQuery,
  finishAnsweredQuery,
  leaseQuery,
  postponeQuery,
  recordQueryAnswer,
  rejectUnknownOrderHints,
  scheduleUnscheduledOrders,
  type DueQuery,
} from '../store/queries.js';
import { activeTraceparent, inSpan, SpanKind } from '../telemetry/trace.js';
import { periodicJob, type Job } from './job.js';

export interface ReconcilerDeps {
  pool: pg.Pool;
  providers: readonly Provider[];
  /** RECONCILE_SCHEDULE in milliseconds. */
  scheduleMs: readonly number[];
  targetsFor: (provider: Provider, kind: string) => IngestTargets;
  logger: FastifyBaseLogger;
  metrics: Pick<Metrics, 'queries'>;
  /** How often due queries are looked for: unverified hints are asked about within this. */
  pollMs?: number;
  /** Queries asked at once by this process. */
  concurrency?: number;
}

/** What one question to a provider came to. */
export type AskResult = { outcome: Transition | 'not_found'; providerState: string | null } | { outcome: 'try_later' | 'config_error'; detail: string };

export interface Reconciler {
  /** The schedule's background job: runDue() every second or so. */
  job: Job;
  /** Asks about every due order (up to the concurrency) once; resolves with how many were handled. */
  runDue(): Promise<number>;
  /**
   * Asks the provider about one order now and applies the answer (POST …/reconcile), holding the
   * order's query lease like the job does; 'busy' when another worker's query of it does not end
   * within a few seconds. Uses up no slot of the schedule. An answer that changes anything is
   * audited by `audit` in the same transaction.
   */
  askNow(provider: Provider, kind: string, orderRef: string, audit?: AuditEntryOf): Promise<AskResult | 'busy'>;
}

/** A repeated answer is only counted: to the asker it changed nothing. */
function askerOutcome(outcome: string): Transition {
  return outcome === 'created' || outcome === 'changed' || outcome === 'conflict' ? outcome : 'unchanged';
}

/** How long POST …/reconcile waits for a query of the same order already in flight. */
const BUSY_WAIT_MS = 10_000;

/**
 * Asks the providers for the truth when a notification does not come: every PENDING queryable
 * order on RECONCILE_SCHEDULE after its last change, and the order of every unverified hint at
 * once. An answer goes through the one state rule with source `query`. Queries never run inside
 * a notification's request.
 */
export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { pool, providers, scheduleMs, logger } = deps;
  const pollMs = deps.pollMs ?? 1_000;
  const concurrency = deps.concurrency ?? 4;
  const queryable = providers.filter((provider) => provider.query !== undefined);
  const kinds = queryable.flatMap((provider) => provider.kinds.filter((kind) => provider.isQueryable(kind)));
  // A lease outlives a query's own timeouts (a token request, a 403 retry, the query).
  const leaseMs = 60_000;
  let spread = false;

  /** One question to a provider, and its answer applied: a span of its own when tracing is on. */
  function ask(provider: Provider, kind: string, orderRef: string, audit?: AuditEntryOf): Promise<AskResult> {
    const attributes = { 'receiver.provider': provider.name, 'receiver.kind': kind, 'receiver.order_ref': clipForLog(orderRef) ?? '' };
    return inSpan('provider query', { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const result = await askAndApply(provider, kind, orderRef, audit);
      span?.setAttribute('receiver.outcome', result.outcome);
      return result;
    });
  }

  async function askAndApply(provider: Provider, kind: string, orderRef: string, audit?: AuditEntryOf): Promise<AskResult> {
    const labels = { provider: provider.name };
    // No query ever carries a reference outside the alphabet (one stored before the rule, say).
    if (!isOrderRef(orderRef)) {
      deps.metrics.queries.inc({ ...labels, outcome: 'config_error' });
      logger.error({ provider: provider.name, kind, orderRef: clipForLog(orderRef) }, 'order reference outside the allowed alphabet: not asked');
      return { outcome: 'config_error', detail: 'order reference outside the allowed alphabet' };
    }
    const askedAt = await askTime(pool);
    const answer: QueryAnswer = await (provider.query as NonNullable<Provider['query']>)(kind, orderRef);
    const facts = { provider: provider.name, kind, orderRef };
    switch (answer.outcome) {
      case 'found': {
        const providerState = answer.report.rawState;
        const auditOf =
          audit === undefined
            ? undefined
            : (result: { outcome: string }) => audit({ outcome: askerOutcome(result.outcome), providerState, state: answer.report.state });
        const result = await recordQueryAnswer(pool, answer, deps.targetsFor(provider, kind), askedAt, auditOf, activeTraceparent());
        deps.metrics.queries.inc({ ...labels, outcome: result.outcome });
        const quiet = result.outcome === 'unchanged';
        logger[quiet ? 'debug' : 'info']({ ...facts, state: answer.report.state, outcome: result.outcome }, 'provider answered a query');
        return { outcome: askerOutcome(result.outcome), providerState };
      }
      case 'not_found': {
        const auditOf = audit === undefined ? undefined : (rejectedHints: number) => audit({ outcome: 'not_found', providerState: null, rejectedHints });
        const rejected = await rejectUnknownOrderHints(pool, kind, orderRef, askedAt, auditOf);
        deps.metrics.queries.inc({ ...labels, outcome: 'not_found' });
        logger.info({ ...facts, rejectedHints: rejected, detail: answer.detail }, 'order unknown at its provider');
        return { outcome: 'not_found', providerState: null };
      }
      case 'try_later':
        deps.metrics.queries.inc({ ...labels, outcome: 'try_later' });
        logger.warn({ ...facts, detail: answer.detail }, 'provider query failed; asking again later');
        return { outcome: 'try_later', detail: answer.detail };
      case 'config_error':
        deps.metrics.queries.inc({ ...labels, outcome: 'config_error' });
        logger.error({ ...facts, detail: answer.detail }, 'provider refused the query: check the configuration');
        return { outcome: 'config_error', detail: answer.detail };
    }
  }

  /** Asks under a lease already held, then reschedules the order (or lets it leave the schedule). */
  async function askLeased(provider: Provider, kind: string, orderRef: string, usesSlot: boolean, audit?: AuditEntryOf): Promise<AskResult> {
    const result = await ask(provider, kind, orderRef, audit);
    if ('detail' in result) {
      await postponeQuery(pool, kind, orderRef, scheduleMs);
      return result;
    }
    const { stale } = await finishAnsweredQuery(pool, kind, orderRef, scheduleMs, usesSlot);
    if (stale) logger.warn({ provider: provider.name, kind, orderRef }, 'order still PENDING after the last reconciliation slot: marked stale');
    return result;
  }

  async function work(due: DueQuery): Promise<void> {
    const provider = providerOfKind(queryable, due.kind);
    const done = due.state !== null && due.state !== 'PENDING' && !due.hasHints;
    if (provider === undefined || !provider.isQueryable(due.kind) || done) {
      await dropQuery(pool, due.kind, due.orderRef);
      return;
    }
    await askLeased(provider, due.kind, due.orderRef, !due.hinted);
  }

  async function askNow(provider: Provider, kind: string, orderRef: string, audit?: AuditEntryOf): Promise<AskResult | 'busy'> {
    const deadline = Date.now() + BUSY_WAIT_MS;
    while (!(await leaseQuery(pool, provider.name, kind, orderRef, leaseMs))) {
      if (Date.now() > deadline) return 'busy';
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return askLeased(provider, kind, orderRef, false, audit);
  }

  async function runDue(): Promise<number> {
    if (kinds.length === 0) return 0;
    if (!spread) {
      const scheduled = await scheduleUnscheduledOrders(pool, kinds, firstSlotMs(scheduleMs) ?? 0);
      if (scheduled > 0) logger.info({ scheduled }, 'pending orders entered the reconciliation schedule, spread over its first slot');
      spread = true;
    }
    const claimed = await claimDueQueries(pool, concurrency, leaseMs, kinds);
    const results = await Promise.allSettled(claimed.map(work));
    for (const result of results) {
      if (result.status === 'rejected') logger.warn({ err: result.reason }, 'reconciliation of an order failed; its lease will expire');
    }
    return claimed.length;
  }

  // A full round may have left more due: come back at once.
  const job = periodicJob('reconcile', pollMs, async () => ((await runDue()) === concurrency ? 0 : pollMs), logger);
  return { job, runDue, askNow };
}
