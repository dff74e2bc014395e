import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { adoptRedactedUrls, retireRemovedDestinations } from '../store/outbox.js';
import { periodicJob, type Job } from './job.js';

const RETIRE_EVERY_MS = 60_000;

/**
 * Keeps the outbox in step with FORWARD_URLS. At start, deliveries written before destinations
 * were named by their redacted URL take that name (so nothing secret stays stored, and their
 * pending deliveries still go out). Then, now and every minute, pending deliveries to destinations
 * no longer configured become dead with DESTINATION_REMOVED: also those another replica with an
 * older configuration keeps writing during a rolling deploy.
 */
export function retireDestinationsJob(pool: pg.Pool, destinations: readonly { url: string; id: string }[], logger: FastifyBaseLogger): Job {
  let adopted = false;
  const ids = destinations.map((destination) => destination.id);
  return periodicJob(
    'retire-destinations',
    RETIRE_EVERY_MS,
    async () => {
      if (!adopted) {
        const renamed = await adoptRedactedUrls(pool, destinations);
        if (renamed > 0) logger.info({ renamed }, 'deliveries renamed to their destination without credentials');
        adopted = true;
      }
      const retired = await retireRemovedDestinations(pool, ids);
      if (retired > 0) logger.warn({ retired }, 'pending deliveries to removed destinations marked dead');
    },
    logger,
  );
}
