import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../../plugins/metrics.js';
import { errorCodeOf } from '../../plugins/error-handler.js';
import { requestSpanOf } from '../../telemetry/trace.js';

const outcomes = new WeakMap<FastifyRequest, string>();

/** The ingest outcome of a stored notification (created, changed, unchanged, conflict, duplicate, unverified). */
export function recordOutcome(request: FastifyRequest, outcome: string): void {
  outcomes.set(request, outcome);
}

/**
 * Counts every notify reply by provider, kind and outcome, and times it. A refused request's
 * outcome is its error code, taken where every refusal passes (413 and 429 included, which no
 * handler sees). The route's config names its provider and kind.
 */
export function instrumentNotify(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onError', async (request, _reply, error) => {
    const code = errorCodeOf(error);
    outcomes.set(request, code);
    requestSpanOf(request)?.setAttribute('receiver.outcome', code);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = (request.routeOptions.config as { notify?: { provider: string; kind: string } }).notify;
    const labels = { provider: route?.provider ?? 'unknown', kind: route?.kind ?? 'unknown' };
    const outcome = outcomes.get(request) ?? `status_${reply.statusCode}`;
    metrics.notifications.inc({ ...labels, outcome });
    if (outcome.startsWith('SIGNATURE_')) metrics.signatureFailures.inc({ ...labels, reason: outcome });
    metrics.replySeconds.observe({ ...labels, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
