import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { documentedAs } from './openapi.js';

/**
 * The service's Prometheus series, on a registry of their own (one per app, so tests can build
 * many apps in one process).
 */
export function createMetrics(options: { backlog?: () => Promise<number> } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const backlog = options.backlog;
  return {
    registry,
    notifications: new Counter({
      name: 'starpay_notifications_total',
      help: 'Notifications received, by kind and outcome (created, changed, unchanged, conflict, duplicate, or the refusal code)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: 'starpay_signature_failures_total',
      help: 'Notifications refused for their signature, by kind and reason',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    replySeconds: new Histogram({
      name: 'starpay_notify_reply_seconds',
      help: 'Time from request to reply on the notify endpoints, by kind and status code',
      labelNames: ['kind', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'starpay_deliveries_total',
      help: 'Webhook delivery attempts, by outcome (delivered, retry, dead)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'starpay_outbox_backlog',
      help: 'Deliveries still pending',
      registers: [registry],
      async collect() {
        if (backlog !== undefined) this.set(await backlog().catch(() => Number.NaN));
      },
    }),
  };
}

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
          'starpay_notifications_total{kind,outcome}, starpay_signature_failures_total{kind,reason}, ' +
          'starpay_notify_reply_seconds{kind,status}, starpay_deliveries_total{outcome}, starpay_outbox_backlog, and process metrics.',
        response: {
          200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      }),
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
}
