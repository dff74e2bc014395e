import type { FastifyBaseLogger } from 'fastify';
import { GAUGE_REFRESH_MS, type Metrics } from '../plugins/metrics.js';
import { periodicJob, type Job } from './job.js';

/** Counts the gauges' rows every GAUGE_REFRESH_MS in the background, so a scrape reads no table. */
export function refreshGaugesJob(metrics: Pick<Metrics, 'refreshGauges'>, logger: FastifyBaseLogger, intervalMs = GAUGE_REFRESH_MS): Job {
  return periodicJob('refresh-gauges', intervalMs, () => metrics.refreshGauges(), logger);
}
