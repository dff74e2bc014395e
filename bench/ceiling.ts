import pg from 'pg';
import { INGEST_STATEMENT } from '../src/store/ingest.js';

export interface CeilingResult {
  sent: number;
  ok: number;
  outcomes: Record<string, number>;
  seconds: number;
  latencies: Float64Array;
}

/**
 * The database's own limit for the same durable work: the service's own statement
 * (ingest_notification: notification, order, event, deliveries, commit), called with parameters
 * built beforehand through a pool of `concurrency` connections, `concurrency` calls in flight.
 * No HTTP, no JSON, no RSA.
 */
export async function runCeiling(pool: pg.Pool, parameters: readonly unknown[][], concurrency: number, deadlineMs: number): Promise<CeilingResult> {
  const latencies = new Float64Array(parameters.length);
  const outcomes: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  const started = performance.now();
  const deadline = started + deadlineMs;
  const worker = async () => {
    while (next < parameters.length && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      try {
        const { rows } = await pool.query<{ outcome: string }>({ ...INGEST_STATEMENT, values: parameters[i] as unknown[] });
        const outcome = rows[0]?.outcome ?? 'no row';
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        ok++;
      } catch (error) {
        const label = `error: ${(error as Error).message}`;
        outcomes[label] = (outcomes[label] ?? 0) + 1;
      }
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, parameters.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { sent: next, ok, outcomes, seconds, latencies: latencies.subarray(0, next) };
}

/** A pool with every connection open and the statement prepared on each, so the run measures steady state. */
export async function openCeilingPool(url: string, concurrency: number, warmup: readonly unknown[][]): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: concurrency });
  pool.on('error', () => {});
  const clients = await Promise.all(Array.from({ length: concurrency }, () => pool.connect()));
  // Each connection prepares the statement once (one warm-up call each, extra calls spread over them).
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = c; i < warmup.length; i += concurrency) await client.query({ ...INGEST_STATEMENT, values: warmup[i] });
    }),
  );
  for (const client of clients) client.release();
  return pool;
}
