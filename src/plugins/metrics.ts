import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { documentedAs } from './openapi.js';

/**
 * The service's Prometheus series, on a registry of their own (one per app, so tests can build
 * many apps in one process).
 */
export interface MetricsSources {
  /** Deliveries still pending, and deliveries that are dead. */
  backlog?: () => Promise<{ pending: number; dead: number }>;
  /** Orders still PENDING, orders flagged stale, and orders flagged with an amount mismatch. */
  flagged?: () => Promise<{ pending: number; stale: number; amountMismatches: number }>;
  /** Each configured destination's state, by destination id. */
  destinationStates?: () => Promise<Map<string, 'healthy' | 'open' | 'paused'>>;
}

/** receiver_destination_state's values. */
export const DESTINATION_STATE_VALUES = { healthy: 0, open: 1, paused: 2 } as const;

/**
 * The service's Prometheus series, on a registry of their own (one per app, so tests can build
 * many apps in one process). Names are not tied to one provider: `provider` is a label.
 */
export function createMetrics(sources: MetricsSources = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { backlog, flagged, destinationStates } = sources;
  // Counting gauges are set by refreshGauges() (a background job, every GAUGE_REFRESH_MS), never
  // by a scrape: a scrape that counted rows would scan tables as often as Prometheus asks.
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  const outboxBacklog = gauge('receiver_outbox_backlog', `Deliveries still pending (counted every ${GAUGE_REFRESH_MS / 1000} s)`);
  const deadDeliveries = gauge(
    'receiver_dead_deliveries',
    `Deliveries that ran out of attempts and wait for a retry (counted every ${GAUGE_REFRESH_MS / 1000} s)`,
  );
  const pendingOrders = gauge('receiver_pending_orders', `Orders still PENDING (counted every ${GAUGE_REFRESH_MS / 1000} s)`);
  const staleOrders = gauge('receiver_stale_orders', `Orders still PENDING after the last reconciliation slot (counted every ${GAUGE_REFRESH_MS / 1000} s)`);
  const amountMismatches = gauge(
    'receiver_amount_mismatches',
    `Orders whose paid amount differs from the expected amount (counted every ${GAUGE_REFRESH_MS / 1000} s)`,
  );
  /** Counts what the gauges show; an unanswered count shows as NaN until the next refresh. */
  async function refreshGauges(): Promise<void> {
    const [deliveries, flags] = await Promise.all([
      (backlog?.() ?? Promise.resolve({ pending: 0, dead: 0 })).catch(() => ({ pending: Number.NaN, dead: Number.NaN })),
      (flagged?.() ?? Promise.resolve({ pending: 0, stale: 0, amountMismatches: 0 })).catch(() => ({
        pending: Number.NaN,
        stale: Number.NaN,
        amountMismatches: Number.NaN,
      })),
    ]);
    outboxBacklog.set(deliveries.pending);
    deadDeliveries.set(deliveries.dead);
    pendingOrders.set(flags.pending);
    staleOrders.set(flags.stale);
    amountMismatches.set(flags.amountMismatches);
  }
  return {
    registry,
    notifications: new Counter({
      name: 'receiver_notifications_total',
      help: 'Notifications received, by provider, kind and outcome (created, changed, unchanged, conflict, duplicate, unverified, or the refusal code)',
      labelNames: ['provider', 'kind', 'outcome'] as const,
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: 'receiver_signature_failures_total',
      help: 'Notifications refused for their signature, by provider, kind and reason',
      labelNames: ['provider', 'kind', 'reason'] as const,
      registers: [registry],
    }),
    replySeconds: new Histogram({
      name: 'receiver_notify_reply_seconds',
      help: 'Time from request to reply on the notify endpoints, by provider, kind and status code',
      labelNames: ['provider', 'kind', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    ingestBatchSize: new Histogram({
      name: 'receiver_ingest_batch_size',
      help: 'Notifications per group-commit batch, by whether the batch committed (a refused batch is written again one by one)',
      labelNames: ['committed'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'receiver_deliveries_total',
      help: 'Delivery attempts, by destination id (dst_…), destination type (http, amqp, nats) and outcome (delivered, retry, dead)',
      labelNames: ['destination', 'type', 'outcome'] as const,
      registers: [registry],
    }),
    queries: new Counter({
      name: 'receiver_provider_queries_total',
      help: 'Queries to the providers, by provider and outcome (created, changed, unchanged, conflict, not_found, try_later, config_error)',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
    purgedRows: new Counter({
      name: 'receiver_purged_rows_total',
      help: 'Rows purged by retention: raw_bodies (notifications whose request body was removed) and attempt_logs (attempt records of delivered deliveries)',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
    outboxBacklog,
    staleOrders,
    amountMismatches,
    refreshGauges,
    destinationState: new Gauge({
      name: 'receiver_destination_state',
      help: 'Each destination by id: 0 healthy, 1 circuit breaker open, 2 paused',
      labelNames: ['destination'] as const,
      registers: [registry],
      // One row per configured destination: reading them costs no table scan.
      async collect() {
        if (destinationStates === undefined) return;
        const states = await destinationStates().catch(() => undefined);
        if (states === undefined) return;
        for (const [destination, state] of states) this.set({ destination }, DESTINATION_STATE_VALUES[state]);
      },
    }),
  };
}

/** How often the counting gauges are refreshed. */
export const GAUGE_REFRESH_MS = 15_000;

export type Metrics = ReturnType<typeof createMetrics>;

/** GET /metrics: the registry in Prometheus text format. */
export async function metricsRoutes(app: FastifyInstance, options: { metrics: Metrics }): Promise<void> {
  const { registry } = options.metrics;
  app.get(
    '/metrics',
    {
      config: documentedAs({
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'receiver_notifications_total{provider,kind,outcome}, receiver_signature_failures_total{provider,kind,reason}, ' +
          'receiver_notify_reply_seconds{provider,kind,status}, receiver_deliveries_total{destination,type,outcome}, ' +
          'receiver_destination_state{destination}, ' +
          'receiver_provider_queries_total{provider,outcome}, receiver_outbox_backlog, receiver_dead_deliveries, receiver_pending_orders, receiver_stale_orders, ' +
          'receiver_amount_mismatches, receiver_ingest_batch_size{committed}, receiver_purged_rows_total{what}, and process metrics. ' +
          `The backlog, dead, pending, stale and mismatch gauges are counted in the background every ${GAUGE_REFRESH_MS / 1000} s, never by a scrape.`,
        response: {
          200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      }),
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
}
