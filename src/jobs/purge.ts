import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { Metrics } from '../plugins/metrics.js';
import { PURGE_BATCH_ROWS, purgeBatch } from '../store/retention.js';
import { periodicJob, type Job } from './job.js';

/** Batches one run purges before it lets the next run (soon) continue: a run stays short to stop. */
const BATCHES_PER_RUN = 20;
/** The wait before that next run, when rows are left. */
const AGAIN_SOON_MS = 1_000;

export interface PurgeJobOptions {
  retention: { rawBodyMs: number; attemptLogMs: number; purgeIntervalMs: number };
  logger: FastifyBaseLogger;
  metrics?: Pick<Metrics, 'purgedRows'>;
  batchRows?: number;
}

/**
 * RAW_BODY_RETENTION and ATTEMPT_LOG_RETENTION, every PURGE_INTERVAL: batch after batch until none
 * is full, one replica at a time (a replica finding the purge lock taken leaves this run to the other).
 */
export function purgeJob(pool: pg.Pool, options: PurgeJobOptions): Job & { runNow(): void } {
  const { retention, logger, metrics } = options;
  const batchRows = options.batchRows ?? PURGE_BATCH_ROWS;
  return periodicJob(
    'purge',
    retention.purgeIntervalMs,
    async () => {
      let rawBodies = 0;
      let attemptLogs = 0;
      for (let batch = 0; batch < BATCHES_PER_RUN; batch++) {
        const result = await purgeBatch(pool, retention, batchRows);
        // Another replica purges now; this one's next run comes at the usual interval.
        if (result.busy) return;
        rawBodies += result.rawBodies;
        attemptLogs += result.attemptLogs;
        metrics?.purgedRows.inc({ what: 'raw_bodies' }, result.rawBodies);
        metrics?.purgedRows.inc({ what: 'attempt_logs' }, result.attemptLogs);
        if (result.rawBodies < batchRows && result.deliveries < batchRows && result.attemptLogs < batchRows) {
          if (rawBodies + attemptLogs > 0) logger.info({ rawBodies, attemptLogs }, 'retention purge done');
          return;
        }
      }
      if (rawBodies + attemptLogs > 0) logger.info({ rawBodies, attemptLogs }, 'retention purge continues');
      return AGAIN_SOON_MS;
    },
    logger,
  );
}
