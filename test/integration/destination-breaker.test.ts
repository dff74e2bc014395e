import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/plugins/metrics.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const auth = { authorization: `Bearer ${OPS_TOKEN}` };
const PROBE_MS = 400;

let downstream: FakeDownstream;
let other: FakeDownstream;
const apps: TestApp[] = [];
const running: { forwarder: Forwarder; destinations: Destination[] }[] = [];

beforeEach(async () => {
  downstream = await startFakeDownstream(() => ({ status: 503 }));
  other = await startFakeDownstream();
});
afterEach(async () => {
  for (const { forwarder, destinations } of running.splice(0)) {
    await forwarder.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
  }
  for (const app of apps.splice(0).reverse()) await app.close();
  await downstream.close();
  await other.close();
});

/** An app whose destinations fail fast and back off for a minute: only the breaker can bring them back sooner. */
async function app(env: Record<string, string> = {}): Promise<TestApp> {
  const started = await startTestApp({
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_TIMEOUT_MS: '2000',
    FORWARD_BACKOFF_MS: '60000',
    FORWARD_MAX_ATTEMPTS: '3',
    BREAKER_FAILURES: '5',
    BREAKER_PROBE_MS: String(PROBE_MS),
    ...env,
  });
  apps.push(started);
  return started;
}

function forward(t: TestApp, metrics?: ReturnType<typeof createMetrics>): Forwarder {
  const destinations = createDestinations(t.config.forward.urls, { timeoutMs: t.config.forward.timeoutMs, webhookSecret: FORWARD_SECRET });
  const forwarder = createForwarder({
    pool: t.db.pool,
    destinations,
    forward: t.config.forward,
    breaker: t.config.breaker,
    logger: createLogger('silent'),
    pollMs: 100,
    metrics,
  });
  running.push({ forwarder, destinations });
  void forwarder.start();
  return forwarder;
}

async function notify(t: TestApp, count: number): Promise<string[]> {
  const refs: string[] = [];
  for (let i = 0; i < count; i++) {
    const fields = requestFields();
    const response = await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });
    expect(response.body).toBe('SUCCESS');
    refs.push(fields.originalMsgId as string);
  }
  return refs;
}

async function destinations(t: TestApp) {
  const response = await t.app.inject({ url: '/ops/destinations', headers: auth });
  expect(response.statusCode).toBe(200);
  return response.json<{ items: Record<string, unknown>[] }>().items;
}

async function statuses(t: TestApp): Promise<Record<string, number>> {
  const { rows } = await t.db.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM deliveries GROUP BY status');
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the circuit breaker', () => {
  it('names each destination dst_ + 12 hex of the SHA-256 of its redacted URL, and lists it healthy', async () => {
    const url = new URL(downstream.url);
    url.username = 'hook';
    url.password = 's3cret';
    const t = await app({ FORWARD_URLS: url.toString() });
    const redacted = url.toString().replace('hook:s3cret@', '***:***@');
    const items = await destinations(t);
    expect(items).toEqual([
      {
        id: `dst_${createHash('sha256').update(redacted).digest('hex').slice(0, 12)}`,
        url: redacted,
        type: 'http',
        state: 'healthy',
        pending: 0,
        dead: 0,
        consecutiveFailures: 0,
        lastSuccessAt: null,
        lastFailureAt: null,
        openedAt: null,
        nextProbeAt: null,
      },
    ]);
    expect(JSON.stringify(items)).not.toContain('s3cret');
  });

  it('opens after BREAKER_FAILURES, then makes one probe per interval, lets nothing die, and drains the backlog on the first success', async () => {
    // One attempt each: any probe would be its delivery's last, were the breaker not open.
    const t = await app({ FORWARD_MAX_ATTEMPTS: '1' });
    const metrics = createMetrics();
    forward(t, metrics);
    const refs = await notify(t, 20);

    await waitFor(async () => (await destinations(t))[0]?.state === 'open', 10_000, 'the breaker to open');
    const [opened] = await destinations(t);
    expect(opened).toMatchObject({ state: 'open', lastSuccessAt: null });
    expect(opened?.consecutiveFailures).toBeGreaterThanOrEqual(5);
    expect(opened?.openedAt).toEqual(expect.any(String));
    expect(opened?.nextProbeAt).toEqual(expect.any(String));
    const metricsText = (await t.app.inject({ url: '/metrics' })).body;
    expect(metricsText).toContain(`receiver_destination_state{destination="${String(opened?.id)}"} 1`);

    // Attempts in flight when it opened finish; from then on only probes go out.
    await sleep(200);
    // Attempts recorded before it opened used up their one attempt; the ones after it wait.
    const atOpen = await statuses(t);
    const waiting = atOpen.pending ?? 0;
    expect(waiting).toBeGreaterThanOrEqual(15);
    const before = downstream.received.length;
    const attemptsBefore = (await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_attempts')).rows[0]?.n ?? 0;
    await sleep(6 * PROBE_MS);
    const probes = downstream.received.length - before;
    expect(probes).toBeGreaterThanOrEqual(2);
    // One per interval at most (and one more for an interval that began as the window did).
    expect(probes).toBeLessThanOrEqual(7);
    const attemptsAfter = (await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_attempts')).rows[0]?.n ?? 0;
    // Recorded attempts are the same probes (one may be in flight at either end of the window).
    expect(Math.abs(attemptsAfter - attemptsBefore - probes)).toBeLessThanOrEqual(1);
    // Every probe used a delivery's last attempt, yet none died: they wait while it is open.
    expect(await statuses(t)).toEqual(atOpen);

    downstream.setReply(() => ({ status: 204 }));
    // Every delivery waits a minute's backoff: only the breaker closing makes them due now.
    await waitFor(async () => (await statuses(t)).delivered === waiting, 10_000, 'the backlog to drain');
    const [closed] = await destinations(t);
    expect(closed).toMatchObject({ state: 'healthy', consecutiveFailures: 0, pending: 0, dead: 20 - waiting, openedAt: null, nextProbeAt: null });
    expect(closed?.lastSuccessAt).toEqual(expect.any(String));
    const delivered = new Set(downstream.received.filter((webhook) => webhook.status === 204).map((webhook) => JSON.parse(webhook.body).data.orderRef));
    expect(delivered.size).toBe(waiting);
    for (const ref of delivered) expect(refs).toContain(ref);
    const counted = await metrics.registry.getSingleMetricAsString('receiver_deliveries_total');
    expect(counted).toContain(`receiver_deliveries_total{destination="${String(opened?.id)}",type="http",outcome="delivered"} ${waiting}`);
  });

  it('counts consecutive failures across replicas, and every replica reports the same state', async () => {
    const first = await app({ FORWARD_MAX_ATTEMPTS: '1' });
    const second = await app({ DATABASE_URL: first.database.url, FORWARD_MAX_ATTEMPTS: '1' });

    // Two failures through the first replica's forwarder, then two through the second's: four in a row.
    await notify(first, 2);
    const one = forward(first);
    await waitFor(async () => (await statuses(first)).dead === 2, 10_000, 'two failed attempts');
    await one.stop();
    expect((await destinations(second))[0]).toMatchObject({ state: 'healthy', consecutiveFailures: 2 });

    await notify(second, 3);
    forward(second);
    await waitFor(async () => (await destinations(first))[0]?.state === 'open', 10_000, 'the breaker to open');
    const [seenByFirst] = await destinations(first);
    const [seenBySecond] = await destinations(second);
    expect(seenByFirst).toEqual(seenBySecond);
    expect(seenByFirst).toMatchObject({ state: 'open', consecutiveFailures: 5 });
    // The attempts that opened it may be recorded while it is open: those wait instead of dying.
    expect(Number(seenByFirst?.dead) + Number(seenByFirst?.pending)).toBe(5);
  });

  it('holds back only the failing destination: another one keeps delivering', async () => {
    const t = await app({ FORWARD_URLS: `${downstream.url},${other.url}` });
    forward(t);
    await notify(t, 12);
    await waitFor(async () => (await destinations(t))[0]?.state === 'open', 10_000, 'the breaker to open');
    await waitFor(async () => (await destinations(t))[1]?.pending === 0, 10_000, 'the healthy destination');
    expect(other.received).toHaveLength(12);
    const [failing, healthy] = await destinations(t);
    expect(failing).toMatchObject({ state: 'open', pending: 12 });
    expect(healthy).toMatchObject({ state: 'healthy', pending: 0, consecutiveFailures: 0 });
  });
});
