import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import { createForwarder } from '../../src/forwarder/forwarder.js';
import { purgeJob } from '../../src/jobs/purge.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/plugins/metrics.js';
import { PURGE_LOCK, purgeBatch } from '../../src/store/retention.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

// Short retention through configuration; the clock is the real one.
const RETENTION_MS = 3_000;
let t: TestApp;
let downstream: FakeDownstream;

beforeAll(async () => {
  downstream = await startFakeDownstream();
  t = await startTestApp({
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_MAX_ATTEMPTS: '2',
    FORWARD_BACKOFF_MS: '20',
    RAW_BODY_RETENTION: '3s',
    ATTEMPT_LOG_RETENTION: '3s',
    PURGE_INTERVAL: '1h',
  });
});
afterAll(async () => {
  await t.close();
  await downstream.close();
});

const notify = (fields: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });

interface Detail {
  order: { state: string; notificationCount: number };
  notifications: { request: unknown; requestPurgedAt: string | null; deliveryCount: number }[];
  events: { id: string }[];
  deliveries: { status: string; attempts: number; deliveredAt: string | null; attemptLog: unknown[] }[];
}
async function detail(orderRef: string): Promise<Detail> {
  const response = await t.app.inject({ url: `/ops/orders/repayment/${orderRef}`, headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  expect(response.statusCode).toBe(200);
  return response.json();
}

/** Lets the forwarder deliver (or kill) every pending delivery, then stops it. */
async function forwardAll(): Promise<void> {
  const destinations = createDestinations([downstream.url], { timeoutMs: 2_000, webhookSecret: FORWARD_SECRET });
  const forwarder = createForwarder({ pool: t.db.pool, destinations, forward: t.config.forward, logger: createLogger('silent'), pollMs: 50 });
  await forwarder.start();
  try {
    await waitFor(async () => (await t.db.pool.query("SELECT 1 FROM deliveries WHERE status = 'pending'")).rowCount === 0, 15_000, 'no pending delivery');
  } finally {
    await forwarder.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
  }
}

const older = () => new Promise((resolve) => setTimeout(resolve, RETENTION_MS + 500));

describe('retention', () => {
  it('removes old request bodies and delivered attempt records, keeps identities, states, events and the other deliveries, and counts what it purged', async () => {
    const delivered = requestFields();
    const withoutMsgId = requestFields({ msgId: undefined });
    const dead = requestFields();
    downstream.setReply(({ body }) => ({ status: body.includes(String(dead.originalMsgId)) ? 500 : 204 }));
    for (const fields of [delivered, withoutMsgId, dead]) expect((await notify(fields)).body).toBe('SUCCESS');
    await forwardAll();
    await older();
    const recent = requestFields();
    expect((await notify(recent)).body).toBe('SUCCESS');

    const metrics = createMetrics();
    const job = purgeJob(t.db.pool, { retention: t.config.retention, logger: createLogger('silent'), metrics });
    job.start();
    await waitFor(async () => (await detail(String(delivered.originalMsgId))).notifications[0]?.requestPurgedAt !== null, 10_000, 'the purge');
    await job.stop();

    for (const fields of [delivered, withoutMsgId]) {
      const purged = await detail(String(fields.originalMsgId));
      expect(purged.order).toMatchObject({ state: 'SUCCESS', notificationCount: 1 });
      expect(purged.notifications).toEqual([expect.objectContaining({ request: null, requestPurgedAt: expect.any(String), deliveryCount: 1 })]);
      expect(purged.events).toHaveLength(1);
      expect(purged.deliveries).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1, deliveredAt: expect.any(String), attemptLog: [] })]);
    }
    // A dead delivery keeps its attempt records, however old.
    const kept = await detail(String(dead.originalMsgId));
    expect(kept.notifications[0]?.request).toBeNull();
    expect(kept.deliveries).toEqual([expect.objectContaining({ status: 'dead', attempts: 2 })]);
    expect(kept.deliveries[0]?.attemptLog).toHaveLength(2);
    // A notification younger than RAW_BODY_RETENTION keeps its request.
    const young = await detail(String(recent.originalMsgId));
    expect(young.notifications[0]).toMatchObject({ request: expect.objectContaining({ originalMsgId: recent.originalMsgId }), requestPurgedAt: null });

    const { rows } = await t.db.pool.query<{ body: string | null; signed_text: string | null; signature: string | null }>(
      'SELECT body, signed_text, signature FROM notifications WHERE order_ref = $1',
      [delivered.originalMsgId],
    );
    expect(rows).toEqual([{ body: null, signed_text: null, signature: null }]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('receiver_purged_rows_total{what="raw_bodies"} 3');
    expect(text).toContain('receiver_purged_rows_total{what="attempt_logs"} 2');
  });

  it('still answers a resend after the purge as a duplicate: SUCCESS, counted, no new event or delivery', async () => {
    const withMsgId = requestFields();
    const withoutMsgId = requestFields({ msgId: undefined });
    for (const fields of [withMsgId, withoutMsgId]) expect((await notify(fields)).body).toBe('SUCCESS');
    await forwardAll();
    await older();
    while (true) {
      const batch = await purgeBatch(t.db.pool, t.config.retention);
      if (!batch.busy && batch.rawBodies === 0) break;
    }
    const sent = downstream.received.length;
    for (const fields of [withMsgId, withoutMsgId]) {
      const before = await detail(String(fields.originalMsgId));
      expect(before.notifications[0]?.requestPurgedAt).not.toBeNull();
      expect((await notify(fields)).body).toBe('SUCCESS');
      const after = await detail(String(fields.originalMsgId));
      expect(after.notifications).toEqual([expect.objectContaining({ deliveryCount: 2, request: null })]);
      expect(after.order.notificationCount).toBe(before.order.notificationCount);
      expect(after.events).toEqual(before.events);
      expect(after.deliveries).toHaveLength(1);
    }
    const { rows } = await t.db.pool.query("SELECT 1 FROM deliveries WHERE status = 'pending'");
    expect(rows).toHaveLength(0);
    expect(downstream.received.length).toBe(sent);
  });

  it('purges in batches of the given size, and not at all while another replica holds the purge', async () => {
    const batch = 3;
    for (let i = 0; i < 7; i++) expect((await notify(requestFields())).body).toBe('SUCCESS');
    await older();

    const other = new pg.Client({ connectionString: t.database.directUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [PURGE_LOCK]);
      expect(await purgeBatch(t.db.pool, t.config.retention, batch)).toEqual({ busy: true });
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    const sizes: number[] = [];
    for (;;) {
      const result = await purgeBatch(t.db.pool, t.config.retention, batch);
      if (result.busy) throw new Error('nobody else holds the purge');
      sizes.push(result.rawBodies);
      if (result.rawBodies < batch) break;
    }
    expect(sizes).toEqual([3, 3, 1, 0].slice(0, sizes.length));
    expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(7);
  });
});
