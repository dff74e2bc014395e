import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../../plugins/metrics.js';
import { errorCodeOf } from '../../plugins/error-handler.js';

const outcomes = new WeakMap<FastifyRequest, string>();

/** The ingest outcome of a stored notification (created, changed, unchanged, conflict, duplicate). */
export function recordOutcome(request: FastifyRequest, outcome: string): void {
  outcomes.set(request, outcome);
}

/**
 * Counts every notify reply by kind and outcome, and times it. A refused request's outcome is its
 * error code, taken where every refusal passes (413 and 429 included, which no handler sees).
 */
export function instrumentNotify(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onError', async (request, _reply, error) => {
    outcomes.set(request, errorCodeOf(error));
  });
  app.addHook('onResponse', async (request, reply) => {
    const kind = request.routeOptions.url?.split('/').at(-1) ?? 'unknown';
    const outcome = outcomes.get(request) ?? `status_${reply.statusCode}`;
    metrics.notifications.inc({ kind, outcome });
    if (outcome.startsWith('SIGNATURE_')) metrics.signatureFailures.inc({ kind, reason: outcome });
    metrics.replySeconds.observe({ kind, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
