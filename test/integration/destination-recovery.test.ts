import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { destinationId } from '../../src/domain/destination-id.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { retryDeadDeliveries } from '../../src/store/destinations.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

let downstream: FakeDownstream;
let t: TestApp;
let id: string;
let running: { forwarder: Forwarder; destinations: Destination[] }[] = [];

beforeAll(async () => {
  downstream = await startFakeDownstream();
  // One attempt per delivery and a breaker that never opens: a failure is a dead delivery at once.
  t = await startTestApp({
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_TIMEOUT_MS: '2000',
    FORWARD_BACKOFF_MS: '60000',
    FORWARD_MAX_ATTEMPTS: '1',
    BREAKER_FAILURES: '100000',
  });
  id = destinationId(downstream.url);
});
afterAll(async () => {
  await t.close();
  await downstream.close();
});
beforeEach(async () => {
  downstream.received.length = 0;
  downstream.setReply(() => ({ status: 204 }));
  // Each test starts from an empty outbox and a healthy destination.
  await t.db.pool.query("UPDATE deliveries SET status = 'delivered' WHERE status <> 'delivered'");
  await t.db.pool.query('UPDATE destinations SET paused = false');
});
afterEach(async () => {
  for (const { forwarder, destinations } of running) {
    await forwarder.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
  }
  running = [];
});

function forward(): void {
  const destinations = createDestinations(t.config.forward.urls, { timeoutMs: 2_000, webhookSecret: FORWARD_SECRET });
  const forwarder = createForwarder({
    pool: t.db.pool,
    destinations,
    forward: t.config.forward,
    breaker: t.config.breaker,
    logger: createLogger('silent'),
    pollMs: 100,
  });
  running.push({ forwarder, destinations });
  void forwarder.start();
}

async function notify(fields: Record<string, unknown>, kind = 'repayment'): Promise<void> {
  const response = await t.app.inject({ method: 'POST', url: `/notify/starpay/${kind}`, payload: signedBody(fields, t.starpay.privateKey) });
  expect(response.body).toBe('SUCCESS');
}

async function ops(method: 'GET' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

async function statuses(): Promise<Record<string, number>> {
  const { rows } = await t.db.pool.query<{ status: string; n: number }>(
    "SELECT status, count(*)::int AS n FROM deliveries WHERE status <> 'delivered' GROUP BY status",
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The order references in the order the downstream accepted their events, with each event's state. */
function accepted(): { orderRef: string; state: string }[] {
  return downstream.received
    .filter((webhook) => webhook.status === 204)
    .map((webhook) => {
      const { data } = JSON.parse(webhook.body) as { data: { orderRef: string; state: string } };
      return { orderRef: data.orderRef, state: data.state };
    });
}

describe('pause and resume', () => {
  it('attempts nothing while paused, for every replica, and sends the backlog as soon as it is resumed', async () => {
    const paused = await ops('POST', `/ops/destinations/${id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ destination: { id, state: 'paused', url: downstream.url, type: 'http' } });

    // Another replica on the same database sees it paused.
    const replica = await startTestApp({ DATABASE_URL: t.database.url, FORWARD_URLS: downstream.url, FORWARD_SECRET });
    try {
      const listed = await replica.app.inject({ url: '/ops/destinations', headers: auth });
      expect(listed.json()).toMatchObject({ items: [{ id, state: 'paused' }] });
      expect((await replica.app.inject({ url: '/metrics' })).body).toContain(`receiver_destination_state{destination="${id}"} 2`);
    } finally {
      await replica.close();
    }

    forward();
    downstream.setReply(() => ({ status: 503 }));
    for (let i = 0; i < 3; i++) await notify(requestFields());
    await sleep(600);
    // Nothing attempted, so nothing used its one attempt up: all three wait.
    expect(downstream.received).toHaveLength(0);
    expect(await statuses()).toEqual({ pending: 3 });
    expect((await ops('GET', '/ops/destinations')).json()).toMatchObject({ items: [{ id, state: 'paused', pending: 3, dead: 0 }] });

    downstream.setReply(() => ({ status: 204 }));
    // A delivery waiting out its backoff is due again at once on resume.
    await t.db.pool.query("UPDATE deliveries SET next_attempt_at = now() + interval '1 hour' WHERE status = 'pending'");
    const resumed = await ops('POST', `/ops/destinations/${id}/resume`);
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ destination: { id, state: 'healthy' } });
    await waitFor(async () => Object.keys(await statuses()).length === 0, 10_000, 'the backlog to go out');
    expect(accepted()).toHaveLength(3);
  });

  it('answers 404 for a destination that is not configured', async () => {
    for (const action of ['pause', 'resume']) {
      const response = await ops('POST', `/ops/destinations/dst_000000000000/${action}`);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});

describe('held deliveries', () => {
  it('show heldBy: the earlier undelivered delivery of the same order and destination', async () => {
    forward();
    downstream.setReply(() => ({ status: 503 }));
    const pending = requestFields({ trxState: 'PROCESSING' });
    await notify(pending);
    await waitFor(async () => (await statuses()).dead === 1, 10_000, 'the first event to die');
    await notify({ ...requestFields({ trxState: 'SUCCESS' }), originalMsgId: pending.originalMsgId });

    const listed = (await ops('GET', '/ops/deliveries?status=dead')).json<{ items: { id: string; orderRef: string; kind: string }[] }>();
    const dead = listed.items[0];
    expect(dead).toMatchObject({ orderRef: pending.originalMsgId, kind: 'repayment', provider: 'starpay', destination: id, heldBy: null });
    const waiting = (await ops('GET', '/ops/deliveries?status=pending')).json<{ items: { heldBy: string | null }[] }>();
    expect(waiting.items).toEqual([expect.objectContaining({ status: 'pending', attempts: 0, heldBy: dead?.id })]);
    const detail = (await ops('GET', `/ops/orders/repayment/${String(pending.originalMsgId)}`)).json<{ deliveries: { heldBy: string | null }[] }>();
    expect(detail.deliveries.map((delivery) => delivery.heldBy)).toEqual([null, dead?.id]);
  });
});

describe('POST /ops/deliveries/retry', () => {
  /** Three orders, each with a dead first event and a second one held behind it, written `ageMinutes` ago. */
  async function deadOrders(count: number, ageMinutes: number, kind = 'repayment'): Promise<string[]> {
    downstream.setReply(() => ({ status: 503 }));
    const refs: string[] = [];
    const before = (await statuses()).dead ?? 0;
    for (let i = 0; i < count; i++) {
      const first = requestFields({ trxState: 'PROCESSING' });
      await notify(first, kind);
      refs.push(first.originalMsgId as string);
    }
    await waitFor(async () => (await statuses()).dead === before + count, 10_000, 'the events to die');
    for (const ref of refs) await notify({ ...requestFields({ trxState: 'SUCCESS' }), originalMsgId: ref }, kind);
    await t.db.pool.query(
      `UPDATE deliveries d SET created_at = now() - $2 * interval '1 minute'
       FROM orders o WHERE o.id = d.order_id AND o.order_ref = ANY($1::text[])`,
      [refs, ageMinutes],
    );
    return refs;
  }

  it('retries the dead deliveries of a window in event order, leaves the others dead, and a second run matches 0', async () => {
    forward();
    const old = await deadOrders(2, 120);
    const recent = await deadOrders(3, 10);
    expect(await statuses()).toEqual({ dead: 5, pending: 5 });
    downstream.setReply(() => ({ status: 204 }));
    downstream.received.length = 0;

    const window = { destination: id, createdAfter: new Date(Date.now() - 60 * 60_000).toISOString() };
    const response = await ops('POST', '/ops/deliveries/retry', window);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ matched: 3 });
    await waitFor(() => accepted().length === 6, 10_000, 'the retried orders');
    // Each order's events arrive as they happened: its PROCESSING before its SUCCESS.
    for (const ref of recent) {
      expect(
        accepted()
          .filter((event) => event.orderRef === ref)
          .map((event) => event.state),
      ).toEqual(['PENDING', 'SUCCESS']);
    }
    expect(accepted().some((event) => old.includes(event.orderRef))).toBe(false);
    await waitFor(async () => (await statuses()).pending === 2, 10_000, 'the recorded deliveries');
    expect(await statuses()).toEqual({ dead: 2, pending: 2 });

    expect((await ops('POST', '/ops/deliveries/retry', window)).json()).toEqual({ matched: 0 });
    // The older window, by createdBefore.
    const older = await ops('POST', '/ops/deliveries/retry', { destination: id, createdBefore: window.createdAfter });
    expect(older.json()).toEqual({ matched: 2 });
    await waitFor(async () => Object.keys(await statuses()).length === 0, 10_000, 'everything delivered');
  });

  it('filters by provider and kind', async () => {
    forward();
    await deadOrders(2, 5, 'repayment');
    await deadOrders(1, 5, 'disbursement');
    downstream.setReply(() => ({ status: 204 }));
    expect((await ops('POST', '/ops/deliveries/retry', { destination: id, provider: 'starpago' })).json()).toEqual({ matched: 0 });
    expect((await ops('POST', '/ops/deliveries/retry', { destination: id, provider: 'starpay', kind: 'disbursement' })).json()).toEqual({ matched: 1 });
    await waitFor(async () => (await statuses()).dead === 2 && (await statuses()).pending === 2, 10_000, 'the disbursement delivered');
    expect((await ops('POST', '/ops/deliveries/retry', { destination: id })).json()).toEqual({ matched: 2 });
  });

  it('works in batches, each its own transaction, and still matches every dead delivery once', async () => {
    forward();
    await deadOrders(5, 5);
    await running[0]?.forwarder.stop();
    const filter = { url: downstream.url };
    const records: Array<Record<string, unknown>> = [];
    const audit = (details: Record<string, unknown>) => {
      records.push(details);
      return { actor: 'test', action: 'deliveries.retry' as const, target: id, requestId: 'r', ip: '127.0.0.1', status: 202, details };
    };
    expect(await retryDeadDeliveries(t.db.pool, filter, audit, 2)).toBe(5);
    expect(await statuses()).toEqual({ pending: 10 });
    expect(await retryDeadDeliveries(t.db.pool, filter, audit, 2)).toBe(0);
    // One record per run, written with its last batch, counting the whole run.
    expect(records).toEqual([{ matched: 5 }, { matched: 0 }]);
  });

  it('refuses an unknown field (400), a bad date (400) and an unknown destination (404), changing nothing', async () => {
    forward();
    await deadOrders(1, 5);
    const unknownField = await ops('POST', '/ops/deliveries/retry', { destination: id, status: 'dead' });
    expect(unknownField.statusCode).toBe(400);
    const badDate = await ops('POST', '/ops/deliveries/retry', { destination: id, createdAfter: 'yesterday' });
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json().message).toContain('createdAfter');
    const missing = await ops('POST', '/ops/deliveries/retry', {});
    expect(missing.statusCode).toBe(400);
    const unknown = await ops('POST', '/ops/deliveries/retry', { destination: 'dst_000000000000' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await statuses()).dead).toBe(1);
  });
});
