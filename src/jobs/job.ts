import type { FastifyBaseLogger } from 'fastify';

/** Periodic background work: started once the service listens, stopped before the database closes. */
export interface Job {
  readonly name: string;
  start(): void;
  /** Stops scheduling and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * A job that runs `work` every `intervalMs` (never two runs at once; a failed run is logged and the
 * next one comes on time). `work` may return a shorter wait, to come back sooner when it has more.
 */
export function periodicJob(name: string, intervalMs: number, work: () => Promise<number | void>, logger: FastifyBaseLogger): Job & { runNow(): void } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  };
  function run(): void {
    if (running !== undefined || stopped) return;
    running = work()
      .then((next) => schedule(typeof next === 'number' ? Math.min(next, intervalMs) : intervalMs))
      .catch((error: unknown) => {
        logger.warn({ err: error, job: name }, 'background job failed; it runs again later');
        schedule(intervalMs);
      })
      .finally(() => {
        running = undefined;
      });
  }
  return {
    name,
    start() {
      stopped = false;
      schedule(0);
    },
    runNow() {
      if (running === undefined) schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
