import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { pruneNotifications } from '../store/ingest.js';
import { periodicJob, type Job } from './job.js';

/** Refused requests kept, and hints kept; older ones are deleted. */
export const NOTIFICATIONS_KEPT = 10_000;
/** At 6000 refused requests a minute per client, a minute's worth is what can pile up between runs. */
export const PRUNE_EVERY_MS = 60_000;

/** Keeps refused requests and hints bounded, however much garbage or forgery arrives. */
export function pruneNotificationsJob(pool: pg.Pool, logger: FastifyBaseLogger, keep = NOTIFICATIONS_KEPT): Job {
  return periodicJob(
    'prune-notifications',
    PRUNE_EVERY_MS,
    async () => {
      const pruned = await pruneNotifications(pool, keep);
      if (pruned > 0) logger.info({ pruned }, 'old refused requests and hints pruned');
    },
    logger,
  );
}
