import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { pruneRejections } from '../store/ingest.js';
import { periodicJob, type Job } from './job.js';

/** Rejected records and unverified hints kept; older ones are deleted. */
export const NOTIFICATIONS_KEPT = 10_000;
const PRUNE_EVERY_MS = 10 * 60_000;

/** Keeps refused requests and unverified hints bounded, however much garbage or forgery arrives. */
export function pruneNotificationsJob(pool: pg.Pool, logger: FastifyBaseLogger, keep = NOTIFICATIONS_KEPT): Job {
  return periodicJob(
    'prune-notifications',
    PRUNE_EVERY_MS,
    async () => {
      const pruned = await pruneRejections(pool, keep);
      if (pruned > 0) logger.info({ pruned }, 'old rejected and unverified notifications pruned');
    },
    logger,
  );
}
