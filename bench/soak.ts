import { cpuBetween, cpuSnapshot, loadAverage, rssBytes } from './machine.js';
import { createClient, openLoop } from './load.js';
import { signNotifications, type SignedNotification } from './notifications.js';
import type { BenchOptions } from './options.js';
import type { BenchEnvironment } from './setup.js';
import { round, summarise } from './stats.js';

const WARMUP_SECONDS = 10;
/** A duplicate follows its original this many notifications later (about half a second at 100/s). */
const DUPLICATE_LAG = 50;

/**
 * A steady `soakRate` notifications per second for `soakSeconds`, half new and half a resend of a
 * recent one (a retry storm's mix), open loop. The service's RSS is read from /proc every second.
 */
export async function runSoak(env: BenchEnvironment, options: BenchOptions, log: (line: string) => void) {
  const rate = options.soakRate;
  const client = createClient(env.service.url, Math.max(8, Math.min(options.concurrency, 64)));
  const idleRssBytes = rssBytes(env.service.pid) ?? null;

  const warmup = stream(signNotifications(env.keys, Math.ceil((WARMUP_SECONDS * rate) / 2), 'soakwarm'));
  const total = options.soakSeconds * rate;
  const notifications = stream(signNotifications(env.keys, Math.ceil(total / 2), 'soak')).slice(0, total);
  log(`signed ${notifications.length} soak notifications; warming up for ${WARMUP_SECONDS} s at ${rate}/s`);
  await openLoop(client, warmup, rate, 1_000);

  const startRssBytes = rssBytes(env.service.pid) ?? null;
  const samples: { second: number; rssBytes: number | null }[] = [{ second: 0, rssBytes: startRssBytes }];
  const before = cpuSnapshot({ servicePid: env.service.pid, postmasterPid: env.database.postmasterPid });
  const result = await openLoop(client, notifications, rate, 1_000, (second) => {
    samples.push({ second, rssBytes: rssBytes(env.service.pid) ?? null });
    if (second % 15 === 0) log(`soak ${second} s: rss ${mib(samples.at(-1)?.rssBytes ?? null)} MiB`);
  });
  const endRssBytes = rssBytes(env.service.pid) ?? null;
  samples.push({ second: Math.round(result.seconds), rssBytes: endRssBytes });
  const cpu = cpuBetween(before, cpuSnapshot({ servicePid: env.service.pid, postmasterPid: env.database.postmasterPid }));
  await client.close();
  const drainSeconds = await env.inspector.drained(60_000);

  const known = samples.map((s) => s.rssBytes).filter((x): x is number => x !== null);
  const growth = startRssBytes !== null && endRssBytes !== null ? round((endRssBytes - startRssBytes) / startRssBytes, 4) : null;
  // A leak keeps growing; a heap settling after warm-up flattens. The second half tells them apart.
  const midRssBytes = samples.find((s) => s.second >= options.soakSeconds / 2)?.rssBytes ?? null;
  const secondHalfGrowth = midRssBytes !== null && endRssBytes !== null ? round((endRssBytes - midRssBytes) / midRssBytes, 4) : null;
  return {
    rate,
    seconds: options.soakSeconds,
    sent: result.sent,
    ok: result.ok,
    failures: result.failures,
    achievedPerSecond: round(result.sent / result.seconds, 1),
    latencyMs: summarise(result.latencies),
    rss: {
      idleBytes: idleRssBytes,
      startBytes: startRssBytes,
      endBytes: endRssBytes,
      maxBytes: known.length > 0 ? Math.max(...known) : null,
      growth,
      secondHalfGrowth,
      samples,
    },
    cpu,
    outboxDrainSeconds: drainSeconds === undefined ? null : round(drainSeconds),
    stored: await env.inspector.counts(),
    loadAverage: loadAverage(),
  };
}

/** Each notification, then (DUPLICATE_LAG later) the same one again. */
function stream(unique: readonly SignedNotification[]): SignedNotification[] {
  const out: SignedNotification[] = [];
  for (let i = 0; i < unique.length + DUPLICATE_LAG; i++) {
    if (i < unique.length) out.push(unique[i] as SignedNotification);
    const original = unique[i - DUPLICATE_LAG];
    if (original !== undefined) out.push(original);
  }
  return out;
}

export function mib(bytes: number | null): string {
  return bytes === null ? '?' : (bytes / 1024 / 1024).toFixed(1);
}
