import { closedLoop, createClient } from './load.js';
import { signNotifications } from './notifications.js';
import type { BenchOptions } from './options.js';
import type { BenchEnvironment } from './setup.js';
import { round } from './stats.js';

export interface ForwardingReport {
  /** A backlog of `backlog` events built while the destination was paused, then resumed: the forwarder alone. */
  deliveries: { count: number; seconds: number; perSecond: number };
  /** The same number of new notifications over HTTP with forwarding on, just before: what deliveries/s is compared with. */
  newNotifications: { count: number; seconds: number; perSecond: number };
  /** deliveries/s ÷ new notifications/s, both of this run. */
  deliveriesToNew: number;
  /**
   * A downstream down (503) while `backlog` events arrive: the breaker opens, then the downstream
   * answers again; `drainSeconds` runs from that moment to the last delivery (the first probe
   * comes within BREAKER_PROBE_MS, 1 s in the bench).
   */
  recovery: { backlog: number; attemptsWhileDown: number; breakerOpened: boolean; drainSeconds: number | null; deadAfter: number };
}

const PHASE_LIMIT_MS = 120_000;

/** The forwarder's own phases, once per run after the rounds. */
export async function runForwarding(env: BenchEnvironment, options: BenchOptions, log: (line: string) => void): Promise<ForwardingReport> {
  const backlog = options.backlog;
  const client = createClient(env.service.url, options.concurrency);
  const ops = async (method: 'GET' | 'POST', path: string) => {
    const response = await fetch(`${env.service.url}${path}`, { method, headers: { authorization: `Bearer ${env.service.opsToken}` } });
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
    return (await response.json()) as { items?: { id: string; state: string }[] };
  };
  const destination = (await ops('GET', '/ops/destinations')).items?.[0]?.id;
  if (destination === undefined) throw new Error('the service has no destination');
  await env.inspector.drained(60_000);

  // New notifications with forwarding on: the rate deliveries must keep up with.
  const fresh = signNotifications(env.keys, backlog, 'fw');
  const ingest = await closedLoop(client, fresh, options.concurrency, PHASE_LIMIT_MS);
  await env.inspector.drained(PHASE_LIMIT_MS);

  // Deliveries: a paused destination's backlog, resumed; the time until the last is delivered.
  await ops('POST', `/ops/destinations/${destination}/pause`);
  await closedLoop(client, signNotifications(env.keys, backlog, 'dl'), options.concurrency, PHASE_LIMIT_MS);
  const resumedAt = performance.now();
  await ops('POST', `/ops/destinations/${destination}/resume`);
  const drained = await env.inspector.drained(PHASE_LIMIT_MS);
  const deliverySeconds = drained === undefined ? Number.NaN : (performance.now() - resumedAt) / 1000;

  // Recovery: the downstream is down while a backlog arrives, then answers again.
  env.downstream.setFailing(true);
  const attemptsBefore = await env.inspector.attempts();
  await closedLoop(client, signNotifications(env.keys, backlog, 'rc'), options.concurrency, PHASE_LIMIT_MS);
  const opened = await waitUntil(async () => (await ops('GET', '/ops/destinations')).items?.[0]?.state === 'open', 30_000);
  // A few probe intervals with the downstream still down: the attempts stay bounded.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const attemptsWhileDown = (await env.inspector.attempts()) - attemptsBefore;
  const recoveredAt = performance.now();
  env.downstream.setFailing(false);
  const recovered = await env.inspector.drained(PHASE_LIMIT_MS);
  const drainSeconds = recovered === undefined ? null : round((performance.now() - recoveredAt) / 1000, 2);
  await client.close();

  const report: ForwardingReport = {
    deliveries: { count: backlog, seconds: round(deliverySeconds, 2), perSecond: round(backlog / deliverySeconds, 1) },
    newNotifications: { count: ingest.sent, seconds: round(ingest.seconds, 2), perSecond: round(ingest.sent / ingest.seconds, 1) },
    deliveriesToNew: round(backlog / deliverySeconds / (ingest.sent / ingest.seconds), 2),
    recovery: { backlog, attemptsWhileDown, breakerOpened: opened, drainSeconds, deadAfter: await env.inspector.dead() },
  };
  log(
    `forwarding: ${report.deliveries.perSecond} deliveries/s (${backlog} after a resume) vs ${report.newNotifications.perSecond} new notifications/s ` +
      `= ${report.deliveriesToNew}x; recovery: breaker ${opened ? 'opened' : 'DID NOT OPEN'}, ${attemptsWhileDown} attempts while down, ` +
      `${backlog} drained ${drainSeconds ?? '?'} s after the downstream answered again, ${report.recovery.deadAfter} dead`,
  );
  return report;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
