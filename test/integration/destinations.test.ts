import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { retireDestinationsJob } from '../../src/jobs/retire-destinations.js';
import { createLogger } from '../../src/logger.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

/** A downstream URL with credentials, as an operator would configure a protected endpoint. */
function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

let fast: FakeDownstream;
let slow: FakeDownstream;
const running: { forwarder: Forwarder; destinations: Destination[] }[] = [];
const apps: TestApp[] = [];

beforeAll(async () => {
  fast = await startFakeDownstream();
  slow = await startFakeDownstream(() => ({ status: 204, delayMs: 1_500 }));
});
afterEach(async () => {
  for (const { forwarder, destinations } of running.splice(0)) {
    await forwarder.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
  }
  for (const app of apps.splice(0).reverse()) await app.close();
  fast.received.length = 0;
  slow.received.length = 0;
});
afterAll(async () => {
  await fast.close();
  await slow.close();
});

async function app(urls: string[]): Promise<TestApp> {
  const started = await startTestApp({ FORWARD_URLS: urls.join(','), FORWARD_SECRET, FORWARD_TIMEOUT_MS: '5000' });
  apps.push(started);
  return started;
}

function forward(t: TestApp, urls: string[], concurrency = 8): void {
  const destinations = createDestinations(urls, { timeoutMs: 5_000, webhookSecret: FORWARD_SECRET });
  const forwarder = createForwarder({
    pool: t.db.pool,
    listenPool: t.db.listenPool,
    destinations,
    forward: t.config.forward,
    logger: createLogger('silent'),
    pollMs: 100,
    concurrency,
  });
  running.push({ forwarder, destinations });
  void forwarder.start();
}

async function notify(t: TestApp): Promise<string> {
  const fields = requestFields();
  const response = await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });
  expect(response.body).toBe('SUCCESS');
  return fields.originalMsgId as string;
}

async function deliveries(t: TestApp) {
  const { rows } = await t.db.pool.query<{ url: string; status: string; last_error: string | null }>(
    'SELECT url, status, last_error FROM deliveries ORDER BY id',
  );
  return rows;
}

describe('destinations', () => {
  it('does not let a slow destination hold back the deliveries to another claimed with it', async () => {
    const t = await app([slow.url, fast.url]);
    for (let i = 0; i < 3; i++) await notify(t);
    const started = Date.now();
    forward(t, [slow.url, fast.url], 2);
    // Two slots: one stays busy with the slow destination, the other keeps the fast one flowing.
    await waitFor(() => fast.received.length === 3, 1_400, 'the fast destination served');
    expect(Date.now() - started).toBeLessThan(1_400);
    expect(slow.received.filter((request) => request.status === 204).length).toBeLessThan(3);
  });

  it('marks the pending deliveries of a removed destination dead, and they hold nothing back', async () => {
    const t = await app([fast.url, slow.url]);
    const ref = await notify(t);
    // The service restarted with the slow destination removed from FORWARD_URLS.
    const retire = retireDestinationsJob(t.db.pool, [{ url: fast.url, id: fast.url }], createLogger('silent'));
    retire.start();
    forward(t, [fast.url]);
    await waitFor(async () => (await deliveries(t)).every((row) => row.status !== 'pending'), 5_000, 'both settled');
    expect(await deliveries(t)).toEqual([
      { url: fast.url, status: 'delivered', last_error: null },
      { url: slow.url, status: 'dead', last_error: 'DESTINATION_REMOVED' },
    ]);
    expect(fast.received.map((request) => JSON.parse(request.body).data.orderRef)).toEqual([ref]);
    await retire.stop();

    // On the service as restarted, retrying such a delivery would leave it pending for ever: refused.
    const restarted = await startTestApp({ DATABASE_URL: t.database.url, FORWARD_URLS: fast.url, FORWARD_SECRET });
    apps.push(restarted);
    const { rows } = await t.db.pool.query<{ id: string }>("SELECT id FROM deliveries WHERE last_error = 'DESTINATION_REMOVED'");
    const retried = await restarted.app.inject({
      method: 'POST',
      url: `/ops/deliveries/dlv_${rows[0]?.id}/retry`,
      headers: { authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(retried.statusCode).toBe(409);
    expect(retried.json()).toMatchObject({ code: 'DESTINATION_REMOVED' });
    expect((await deliveries(t))[1]).toMatchObject({ status: 'dead' });
  });

  it('renames deliveries stored under a URL with credentials to the destination without them', async () => {
    const t = await app([fast.url]);
    await notify(t);
    const raw = withCredentials(fast.url, 'merchant', 'old-secret');
    await t.db.pool.query('UPDATE deliveries SET url = $1', [raw]);
    const job = retireDestinationsJob(t.db.pool, [{ url: raw, id: withCredentials(fast.url, '***', '***') }], createLogger('silent'));
    job.start();
    await waitFor(async () => (await deliveries(t))[0]?.url === withCredentials(fast.url, '***', '***'), 5_000, 'renamed');
    await job.stop();
    expect(await deliveries(t)).toEqual([{ url: withCredentials(fast.url, '***', '***'), status: 'pending', last_error: null }]);
  });

  it('keeps the pending deliveries of a destination whose password was rotated, and never stores or shows the password', async () => {
    const t = await app([withCredentials(fast.url, 'merchant', 'old-secret')]);
    await notify(t);
    const stored = await deliveries(t);
    expect(stored.map((row) => row.url)).toEqual([withCredentials(fast.url, '***', '***')]);

    forward(t, [withCredentials(fast.url, 'merchant', 'new-secret')]);
    await waitFor(() => fast.received.length === 1, 5_000, 'the pending delivery sent with the new password');
    expect(fast.received[0]?.headers.authorization).toBe(`Basic ${Buffer.from('merchant:new-secret').toString('base64')}`);
    await waitFor(async () => (await deliveries(t))[0]?.status === 'delivered', 5_000, 'the attempt recorded');

    // The downstream has it; the forwarder records the attempt just after.
    await waitFor(async () => (await deliveries(t))[0]?.status === 'delivered', 5_000, 'the delivery recorded');
    const listed = await t.app.inject({ url: '/ops/deliveries', headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(listed.body).not.toContain('secret');
    expect(listed.json()).toMatchObject({ items: [{ url: withCredentials(fast.url, '***', '***'), status: 'delivered' }] });
    const { rows } = await t.db.pool.query("SELECT count(*)::int AS n FROM deliveries WHERE url LIKE '%secret%'");
    expect(rows[0]).toEqual({ n: 0 });
  });
});
