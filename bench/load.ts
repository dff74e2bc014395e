import { Pool } from 'undici';
import type { SignedNotification } from './notifications.js';

export interface LoadResult {
  sent: number;
  ok: number;
  /** Non-200 answers, bodies other than SUCCESS and transport errors, by label. */
  failures: Record<string, number>;
  seconds: number;
  /** Per-request latency in ms, in send order. */
  latencies: Float64Array;
}

export interface HttpClient {
  /** POSTs one notification; resolves with a failure label, or undefined when the answer was 200 SUCCESS. */
  post(notification: SignedNotification): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Keep-alive HTTP/1.1 to the service over `connections` sockets, one request in flight per socket. */
export function createClient(origin: string, connections: number): HttpClient {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  return {
    async post(notification) {
      try {
        const response = await pool.request({
          method: 'POST',
          path: notification.path,
          headers: { 'content-type': 'application/json' },
          body: notification.body,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200) return `HTTP ${response.statusCode}`;
        return text === 'SUCCESS' ? undefined : 'body not SUCCESS';
      } catch (error) {
        return (error as Error).name || 'error';
      }
    },
    close: () => pool.close(),
  };
}

/**
 * Closed loop: `concurrency` workers, each sending the next notification as soon as its previous
 * one is answered, until all are sent or `deadlineMs` passes.
 */
export async function closedLoop(
  client: HttpClient,
  notifications: readonly SignedNotification[],
  concurrency: number,
  deadlineMs: number,
): Promise<LoadResult> {
  const latencies = new Float64Array(notifications.length);
  const failures: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  const started = performance.now();
  const deadline = started + deadlineMs;
  const worker = async () => {
    while (next < notifications.length && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      const failure = await client.post(notifications[i] as SignedNotification);
      latencies[i] = performance.now() - t0;
      if (failure === undefined) ok++;
      else failures[failure] = (failures[failure] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, notifications.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { sent: next, ok, failures, seconds, latencies: latencies.subarray(0, next) };
}

/**
 * Open loop at `rate` per second: notification i is due at start + i/rate whatever happens to the
 * earlier ones; latency counts from when it was due (so a stall is not hidden). At most
 * `maxInFlight` outstanding, beyond which sends are dropped and counted.
 */
export async function openLoop(
  client: HttpClient,
  notifications: readonly SignedNotification[],
  rate: number,
  maxInFlight: number,
  onTick?: (elapsedSeconds: number) => void,
): Promise<LoadResult> {
  const latencies = new Float64Array(notifications.length);
  const failures: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  let ok = 0;
  let lastTick = 0;
  const started = performance.now();
  for (let i = 0; i < notifications.length; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const elapsed = Math.floor((performance.now() - started) / 1000);
    if (onTick !== undefined && elapsed > lastTick) {
      lastTick = elapsed;
      onTick(elapsed);
    }
    if (inFlight.size >= maxInFlight) {
      failures['dropped: too many in flight'] = (failures['dropped: too many in flight'] ?? 0) + 1;
      latencies[i] = Number.NaN;
      continue;
    }
    const request = client.post(notifications[i] as SignedNotification).then((failure) => {
      latencies[i] = performance.now() - due;
      if (failure === undefined) ok++;
      else failures[failure] = (failures[failure] ?? 0) + 1;
      inFlight.delete(request);
    });
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  return { sent: notifications.length, ok, failures, seconds, latencies: latencies.filter((x) => !Number.isNaN(x)) };
}
