import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import { AppError } from '../../domain/errors.js';
import { clipForLog } from '../../domain/log-text.js';
import type { Provider, Refusal, VerifyResult } from '../../domain/provider.js';
import type { Metrics } from '../../plugins/metrics.js';
import { documentedAs } from '../../plugins/openapi.js';
import type { Database } from '../../store/database.js';
import { createGroupCommit } from '../../store/group-commit.js';
import { recordRejection, type IngestTargets } from '../../store/ingest.js';
import { requestSpanOf, traceparentOf } from '../../telemetry/trace.js';
import { perClientLimit } from '../client-limit.js';
import { instrumentNotify, recordOutcome } from './instrument.js';
import { notifyRouteDocs } from './openapi.js';

export interface NotifyRoutesOptions {
  config: Config;
  db: Database;
  providers: readonly Provider[];
  metrics: Metrics;
  /** Where an order's events go and when it is first queried. */
  targetsFor: (provider: Provider, kind: string) => IngestTargets;
}

/**
 * POST /notify/<provider>/<kind> for every kind of every provider: raw body → the provider's
 * verify → the group commit (the notifications arriving together, one statement and one commit)
 * → the provider's acknowledgement, only once its own batch committed. The body
 * stays raw bytes in this scope: signatures cover exact bytes, so nothing is parsed and
 * re-serialised before the provider has read it.
 */
export async function notifyRoutes(app: FastifyInstance, options: NotifyRoutesOptions): Promise<void> {
  const { config, db } = options;
  const groupCommit = createGroupCommit(db.pool, {
    ...config.ingest,
    onBatch: (size, committed) => options.metrics.ingestBatchSize.observe({ committed: String(committed) }, size),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.notifyBodyLimit }, (_request, body, done) => {
    done(null, body);
  });
  instrumentNotify(app, options.metrics);
  // A safety net far above the providers' traffic and retries; local callers (load tests) are exempt.
  if (config.rateLimits.notify > 0) {
    app.addHook('onRequest', app.rateLimit(perClientLimit(config.rateLimits.notify)));
  }

  for (const provider of options.providers) {
    for (const kind of provider.kinds) {
      const targets = options.targetsFor(provider, kind);
      const route = { provider: provider.name, kind };
      app.post(`/notify/${provider.name}/${kind}`, { config: { ...documentedAs(notifyRouteDocs(provider, kind)), notify: route } }, async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        // Tracing on: what the request came to (provider and kind are set with the span), never its body or signature.
        const span = requestSpanOf(request);
        const result = provider.verify(kind, body, request.headers);
        if (!provider.configured) {
          // Refused whatever it says, but kept for forensics like any refusal with a readable body.
          const refusal: Refusal = { ok: false, code: 'PROVIDER_NOT_CONFIGURED', detail: `${provider.name} is not configured`, record: recordOf(result, body) };
          request.log.info({ ...route, code: refusal.code }, 'notification refused');
          await recordRefusal(request.log, db, provider.name, kind, refusal);
          throw new AppError(refusal.code, refusal.detail);
        }

        if (!result.ok) {
          request.log.info({ ...route, code: result.code, reason: clipForLog(result.detail) }, 'notification refused');
          await recordRefusal(request.log, db, provider.name, kind, result);
          throw new AppError(result.code, result.detail);
        }

        const { notification } = result;
        span?.setAttribute('receiver.order_ref', clipForLog(notification.orderRef) ?? '');
        let outcome;
        try {
          outcome = await groupCommit.ingest(notification, targets, traceparentOf(span));
        } catch (error) {
          request.log.error({ err: error, ...route, orderRef: clipForLog(notification.orderRef) }, 'notification not stored');
          throw new AppError('DATABASE_UNAVAILABLE', (error as Error).message);
        }
        // A line per state change (and conflict) at info; repeats, which a retry storm is made of,
        // only at debug: they change nothing, and the metrics count them.
        const quiet = outcome.outcome === 'duplicate' || outcome.outcome === 'unchanged';
        request.log[quiet ? 'debug' : 'info'](
          { ...route, orderRef: clipForLog(notification.orderRef), msgId: clipForLog(notification.msgId), state: notification.state, outcome: outcome.outcome },
          'notification stored',
        );
        recordOutcome(request, outcome.outcome);
        span?.setAttribute('receiver.outcome', outcome.outcome);
        return reply.code(200).type('text/plain').send(provider.acknowledgement);
      });
    }
  }
}

/** What a refused request is recorded as: the provider's reading of it, when it could read it. */
function recordOf(result: VerifyResult, body: Buffer): Refusal['record'] {
  if (!result.ok) return result.record;
  const { notification } = result;
  return { body: body.toString('utf8'), request: notification.request, orderRef: notification.orderRef, msgId: notification.msgId };
}

async function recordRefusal(log: FastifyInstance['log'], db: Database, provider: string, kind: string, refusal: Refusal): Promise<void> {
  if (refusal.record === undefined) return;
  try {
    await recordRejection(db.pool, { provider, kind, reason: refusal.code, ...refusal.record });
  } catch (error) {
    log.warn({ err: error, provider, kind }, 'refused notification not recorded');
  }
}
