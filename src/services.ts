import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config/config.js';
import { destinationRef } from './domain/destination-id.js';
import type { Destination } from './domain/destination.js';
import type { Provider } from './domain/provider.js';
import { createForwarder, type Forwarder } from './forwarder/forwarder.js';
import type { Job } from './jobs/job.js';
import { pruneNotificationsJob } from './jobs/prune-notifications.js';
import { purgeJob } from './jobs/purge.js';
import { createReconciler, type Reconciler } from './jobs/reconcile.js';
import { refreshGaugesJob } from './jobs/refresh-gauges.js';
import { retireDestinationsJob } from './jobs/retire-destinations.js';
import { createMetrics, type Metrics } from './plugins/metrics.js';
import type { Database } from './store/database.js';
import { destinationStates } from './store/destinations.js';
import type { IngestTargets } from './store/ingest.js';
import { countFlaggedOrders } from './store/orders.js';
import { countDeliveriesByStatus } from './store/outbox.js';
import { firstSlotMs } from './domain/reconcile-schedule.js';

/** What is built before the database is touched, so that bad configuration stops start-up first. */
export interface ServicesInput {
  config: Config;
  db: Database;
  logger: FastifyBaseLogger;
  /** Every provider, configured or not (src/providers/index.ts). */
  providers: readonly Provider[];
  /** One per FORWARD_URLS entry, in that order. */
  destinations: readonly Destination[];
  /** A span per request, when tracing is on (src/telemetry/sdk.ts). */
  tracingPlugin?: FastifyPluginAsync | undefined;
  /** How often the reconciler looks for due queries (tests make it short). */
  reconcilePollMs?: number;
}

/** The service, wired; nothing is started: src/server.ts listens and starts the forwarder and jobs. */
export interface Services {
  app: FastifyInstance;
  metrics: Metrics;
  reconciler: Reconciler;
  /** Undefined when no destination is configured (no delivery is ever written then). */
  forwarder: Forwarder | undefined;
  /** Pruning, destination retirement, reconciliation, retention, gauges. */
  jobs: Job[];
}

/**
 * Where an order's events go (one delivery per destination) and when a new PENDING order is first
 * queried (the first RECONCILE_SCHEDULE slot, for kinds its provider can be asked about).
 */
export function ingestTargetsFor(config: Config, destinations: readonly string[]) {
  const firstQueryAfterMs = firstSlotMs(config.reconcileScheduleMs);
  return (provider: Provider, kind: string): IngestTargets => ({
    destinations,
    firstQueryAfterMs: provider.isQueryable(kind) ? firstQueryAfterMs : null,
  });
}

/** The service's one set of Prometheus series for a database. */
export function metricsFor(db: Database, destinations: readonly string[] = []): Metrics {
  const refs = destinations.map(destinationRef);
  return createMetrics({
    backlog: () => countDeliveriesByStatus(db.pool),
    flagged: () => countFlaggedOrders(db.prisma),
    destinationStates: () => destinationStates(db.pool, refs),
  });
}

/** The composition root, for src/server.ts and the tests alike: one registry, one reconciler, one app. */
export async function createServices(input: ServicesInput): Promise<Services> {
  const { config, db, logger, providers, destinations } = input;
  const destinationIds = destinations.map((destination) => destination.id);
  const metrics = metricsFor(db, destinationIds);
  const targetsFor = ingestTargetsFor(config, destinationIds);
  const reconciler = createReconciler({
    pool: db.pool,
    providers,
    scheduleMs: config.reconcileScheduleMs,
    targetsFor,
    logger: logger.child({ component: 'reconcile' }),
    metrics,
    ...(input.reconcilePollMs === undefined ? {} : { pollMs: input.reconcilePollMs }),
  });
  const app = await buildApp({
    config,
    db,
    providers,
    destinations: destinationIds,
    logger,
    metrics,
    reconciler,
    targetsFor,
    tracingPlugin: input.tracingPlugin,
  });

  const forwarder =
    destinations.length === 0
      ? undefined
      : createForwarder({
          pool: db.pool,
          listenPool: db.listenPool,
          destinations,
          forward: config.forward,
          breaker: config.breaker,
          logger: logger.child({ component: 'forwarder' }),
          metrics,
        });
  const jobLog = logger.child({ component: 'jobs' });
  const configured = destinations.map((destination, index) => ({ url: config.forward.urls[index] as string, id: destination.id }));
  const jobs = [
    pruneNotificationsJob(db.pool, jobLog),
    retireDestinationsJob(db.pool, configured, jobLog),
    reconciler.job,
    purgeJob(db.pool, { retention: config.retention, logger: jobLog, metrics }),
    refreshGaugesJob(metrics, jobLog),
  ];
  return { app, metrics, reconciler, forwarder, jobs };
}
