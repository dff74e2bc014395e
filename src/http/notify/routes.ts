import type { KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import { AppError } from '../../domain/errors.js';
import type { Metrics } from '../../plugins/metrics.js';
import { documentedAs } from '../../plugins/openapi.js';
import { NOTIFICATION_KINDS, type NotificationKind } from '../../starpay/notification.js';
import type { Database } from '../../store/database.js';
import { ingestNotification, recordRejection } from '../../store/ingest.js';
import { instrumentNotify, recordOutcome } from './instrument.js';
import { notifyRouteDocs } from './openapi.js';
import { isLoopback } from '../loopback.js';
import { verifyNotification } from './verify.js';

export interface NotifyRoutesOptions {
  config: Config;
  db: Database;
  starpayKeys: readonly KeyObject[];
  metrics: Metrics;
}

/** The acknowledgement Starpay waits for; anything else makes it resend. */
export const ACK = 'SUCCESS';

/**
 * Starpay's three notification endpoints. The body stays raw bytes in this scope only: the
 * signature covers the exact text of `request`, so it must never be parsed and re-serialised first.
 */
export async function notifyRoutes(app: FastifyInstance, options: NotifyRoutesOptions): Promise<void> {
  const { config, db, starpayKeys } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.notifyBodyLimit }, (_request, body, done) => {
    done(null, body);
  });
  instrumentNotify(app, options.metrics);
  // A safety net far above Starpay's traffic and retries; local callers (load tests) are exempt.
  if (config.rateLimits.notify > 0) {
    app.addHook('onRequest', app.rateLimit({ max: config.rateLimits.notify, timeWindow: 60_000, allowList: (request) => isLoopback(request.ip) }));
  }

  for (const kind of NOTIFICATION_KINDS) {
    app.post(`/notify/starpay/${kind}`, { config: documentedAs(notifyRouteDocs(kind)) }, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = verifyNotification(kind, body, { keys: starpayKeys, mchId: config.starpayMchId });

      if (!result.ok) {
        request.log.info({ kind, code: result.code, reason: result.detail }, 'notification refused');
        if (result.record !== undefined) await recordRefusal(request.log, db, kind, result.code, result.record);
        throw new AppError(result.code, result.detail);
      }

      const { notification } = result;
      let outcome;
      try {
        outcome = await ingestNotification(
          db.pool,
          notification,
          { request: result.request, signedText: result.signedText, signature: result.signature },
          config.forward.urls,
        );
      } catch (error) {
        request.log.error({ err: error, kind, orderRef: notification.orderRef }, 'notification not stored');
        throw new AppError('DATABASE_UNAVAILABLE', (error as Error).message);
      }
      // A line per state change (and conflict) at info; repeats, which a retry storm is made of,
      // only at debug: they change nothing, and the metrics count them.
      const quiet = outcome.outcome === 'duplicate' || outcome.outcome === 'unchanged';
      request.log[quiet ? 'debug' : 'info'](
        { kind, orderRef: notification.orderRef, msgId: notification.msgId, state: notification.state, outcome: outcome.outcome },
        'notification stored',
      );
      recordOutcome(request, outcome.outcome);
      return reply.code(200).type('text/plain').send(ACK);
    });
  }
}

async function recordRefusal(
  log: FastifyInstance['log'],
  db: Database,
  kind: NotificationKind,
  reason: string,
  record: { body: string; request: unknown; orderRef: string | null; msgId: string | null },
): Promise<void> {
  try {
    await recordRejection(db.pool, { kind, reason, ...record });
  } catch (error) {
    log.warn({ err: error, kind }, 'refused notification not recorded');
  }
}
