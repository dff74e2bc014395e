import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { claimDueDeliveries } from '../../src/store/outbox.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const TIMEOUT_MS = 400;
const MAX_ATTEMPTS = 4;

let downstream: FakeDownstream;
let t: TestApp;
let forwarders: Forwarder[] = [];
const destinations: Destination[] = [];

beforeAll(async () => {
  downstream = await startFakeDownstream();
  t = await startTestApp({
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_BACKOFF_MS: '40',
    FORWARD_TIMEOUT_MS: String(TIMEOUT_MS),
    FORWARD_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  });
});
afterAll(async () => {
  await Promise.all(destinations.map((destination) => destination.close()));
  await t.close();
  await downstream.close();
});
beforeEach(async () => {
  downstream.received.length = 0;
  downstream.setReply(() => ({ status: 204 }));
  // Each test starts from an empty outbox.
  await t.db.pool.query("UPDATE deliveries SET status = 'delivered' WHERE status = 'pending'");
});
afterEach(async () => {
  await Promise.all(forwarders.map((forwarder) => forwarder.stop()));
  forwarders = [];
});

function startForwarder(urls = t.config.forward.urls): Forwarder {
  const own = createDestinations(urls, { timeoutMs: TIMEOUT_MS, webhookSecret: FORWARD_SECRET });
  destinations.push(...own);
  const forwarder = createForwarder({
    pool: t.db.pool,
    listenPool: t.db.listenPool,
    destinations: own,
    forward: t.config.forward,
    logger: createLogger('silent'),
    pollMs: 100,
  });
  void forwarder.start();
  forwarders.push(forwarder);
  return forwarder;
}

async function notify(fields: Record<string, unknown>, kind = 'repayment') {
  const response = await t.app.inject({ method: 'POST', url: `/notify/starpay/${kind}`, payload: signedBody(fields, t.starpay.privateKey) });
  expect(response.body).toBe('SUCCESS');
}

async function delivery(orderRef: string) {
  const { rows } = await t.db.pool.query(
    `SELECT d.*, e.public_id FROM deliveries d JOIN orders o ON o.id = d.order_id JOIN events e ON e.id = d.event_id
     WHERE o.order_ref = $1 ORDER BY d.id`,
    [orderRef],
  );
  return rows;
}

function verified(index: number) {
  const webhook = downstream.received[index];
  if (webhook === undefined) throw new Error(`no webhook #${index}`);
  return new Webhook(FORWARD_SECRET).verify(webhook.body, webhook.headers as Record<string, string>) as {
    type: string;
    timestamp: string;
    data: Record<string, unknown>;
  };
}

describe('the forwarder', () => {
  it('delivers a state change on the first try, signed so that standardwebhooks verifies it', async () => {
    startForwarder();
    const fields = requestFields({ trxState: 'SUCCESS', trxAmount: 10000 });
    await notify(fields);
    await waitFor(() => downstream.received.length === 1, 5_000, 'the webhook');

    const payload = verified(0);
    expect(payload).toEqual({
      type: 'starpay.repayment.state_changed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: {
        provider: 'starpay',
        kind: 'repayment',
        orderRef: fields.originalMsgId,
        source: 'notification',
        state: 'SUCCESS',
        previousState: null,
        rawState: 'SUCCESS',
        amount: 10000,
        paidAmount: null,
        expectedAmount: null,
        currency: 'PHP',
        trxDate: '2024-11-25T17:49:51+08:00',
        errorCode: null,
        errorMessage: null,
      },
    });
    expect(downstream.received[0]?.headers['content-type']).toBe('application/json');
    await waitFor(async () => (await delivery(fields.originalMsgId as string))[0]?.status === 'delivered', 5_000, 'delivered');
    const [row] = await delivery(fields.originalMsgId as string);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });
    expect(downstream.received[0]?.headers['webhook-id']).toBe(row.public_id);
    const { rows: attempts } = await t.db.pool.query('SELECT status_code, error FROM delivery_attempts WHERE delivery_id = $1', [row.id]);
    expect(attempts).toEqual([{ status_code: 204, error: null }]);
  });

  it('retries a downstream that fails twice, sending three attempts with one webhook-id', async () => {
    downstream.setReply(({ count }) => ({ status: count <= 2 ? 500 : 200 }));
    startForwarder();
    const fields = requestFields();
    await notify(fields);
    await waitFor(async () => (await delivery(fields.originalMsgId as string))[0]?.status === 'delivered', 10_000, 'delivered');

    expect(downstream.received.map((w) => w.status)).toEqual([500, 500, 200]);
    expect(new Set(downstream.received.map((w) => w.headers['webhook-id'])).size).toBe(1);
    for (let i = 0; i < 3; i++) expect(verified(i).data.orderRef).toBe(fields.originalMsgId);
    const [row] = await delivery(fields.originalMsgId as string);
    expect(row).toMatchObject({ attempts: 3 });
    const { rows } = await t.db.pool.query('SELECT status_code FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id', [row.id]);
    expect(rows.map((r) => r.status_code)).toEqual([500, 500, 200]);
  });

  it('counts a downstream that does not answer within the timeout as a failed attempt', async () => {
    downstream.setReply(({ count }) => (count === 1 ? { status: 200, delayMs: TIMEOUT_MS * 3 } : { status: 200 }));
    startForwarder();
    const fields = requestFields();
    await notify(fields);
    await waitFor(async () => (await delivery(fields.originalMsgId as string))[0]?.status === 'delivered', 10_000, 'delivered');
    const [row] = await delivery(fields.originalMsgId as string);
    const { rows } = await t.db.pool.query('SELECT status_code, error, duration_ms FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id', [row.id]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/timeout/) });
    expect(rows[0].duration_ms).toBeLessThan(TIMEOUT_MS * 3);
    expect(rows[1]).toMatchObject({ status_code: 200, error: null });
  });

  it('waits at least as long as Retry-After asks', async () => {
    downstream.setReply(({ count }) => (count === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    startForwarder();
    const fields = requestFields();
    await notify(fields);
    await waitFor(() => downstream.received.length === 2, 10_000, 'the retry');
    const [first, second] = downstream.received;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('marks a delivery dead after FORWARD_MAX_ATTEMPTS failures', async () => {
    downstream.setReply(() => ({ status: 500 }));
    startForwarder();
    const fields = requestFields();
    await notify(fields);
    await waitFor(async () => (await delivery(fields.originalMsgId as string))[0]?.status === 'dead', 10_000, 'dead');
    const [row] = await delivery(fields.originalMsgId as string);
    expect(row).toMatchObject({ status: 'dead', attempts: MAX_ATTEMPTS, last_error: 'HTTP 500', delivered_at: null });
    expect(downstream.received).toHaveLength(MAX_ATTEMPTS);
  });

  it('does not follow redirects', async () => {
    downstream.setReply(({ count }) => (count === 1 ? { status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } } : { status: 200 }));
    startForwarder();
    const fields = requestFields();
    await notify(fields);
    await waitFor(async () => (await delivery(fields.originalMsgId as string))[0]?.status === 'delivered', 10_000, 'delivered');
    expect(downstream.received.map((w) => w.status)).toEqual([302, 200]);
  });

  it('delivers PENDING then SUCCESS of one order in that order, even while the first is being retried', async () => {
    downstream.setReply(({ body, count }) => ({ status: body.includes('"PENDING"') && count <= 2 ? 500 : 200 }));
    const ref = `ordered-${Date.now()}`;
    await notify(requestFields({ originalMsgId: ref, trxState: 'PROCESSING' }));
    await notify(requestFields({ originalMsgId: ref, trxState: 'SUCCESS' }));
    startForwarder();
    await waitFor(async () => (await delivery(ref)).every((row) => row.status === 'delivered'), 10_000, 'both delivered');

    const states = downstream.received.map((w) => (JSON.parse(w.body) as { data: { state: string } }).data.state);
    expect(states).toEqual(['PENDING', 'PENDING', 'PENDING', 'SUCCESS']);
  });

  it('holds the later events of an order behind a dead delivery until it is retried, then sends them in order', async () => {
    let pendingFails = true;
    downstream.setReply(({ body }) => ({ status: pendingFails && body.includes('"PENDING"') ? 500 : 200 }));
    const ref = `held-${Date.now()}`;
    await notify(requestFields({ originalMsgId: ref, trxState: 'PROCESSING' }));
    await notify(requestFields({ originalMsgId: ref, trxState: 'SUCCESS' }));
    startForwarder();
    await waitFor(async () => (await delivery(ref))[0]?.status === 'dead', 10_000, 'the first delivery dead');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await delivery(ref))[1]).toMatchObject({ status: 'pending', attempts: 0 });

    pendingFails = false;
    const [dead] = await delivery(ref);
    const retried = await t.app.inject({
      method: 'POST',
      url: `/ops/deliveries/dlv_${dead.id}/retry`,
      headers: { authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(retried.statusCode).toBe(202);
    await waitFor(async () => (await delivery(ref)).every((row) => row.status === 'delivered'), 10_000, 'both delivered');
    const delivered = downstream.received.filter((w) => w.status === 200).map((w) => (JSON.parse(w.body) as { data: { state: string } }).data.state);
    expect(delivered).toEqual(['PENDING', 'SUCCESS']);
  });

  it('retries the earlier dead deliveries of the order with a later one, so that the retried one goes out now, in order', async () => {
    downstream.setReply(() => ({ status: 500 }));
    const ref = `retry-later-${Date.now()}`;
    await notify(requestFields({ originalMsgId: ref, trxState: 'PROCESSING' }));
    await notify(requestFields({ originalMsgId: ref, trxState: 'SUCCESS' }));
    startForwarder();
    await waitFor(async () => (await delivery(ref))[0]?.status === 'dead', 10_000, 'the first delivery dead');
    await t.db.pool.query("UPDATE deliveries SET status = 'dead' WHERE id = $1", [(await delivery(ref))[1]?.id]);

    downstream.setReply(() => ({ status: 200 }));
    const [, later] = await delivery(ref);
    const retried = await t.app.inject({ method: 'POST', url: `/ops/deliveries/dlv_${later.id}/retry`, headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(retried.statusCode).toBe(202);
    await waitFor(async () => (await delivery(ref)).every((row) => row.status === 'delivered'), 10_000, 'both delivered');
    const delivered = downstream.received.filter((w) => w.status === 200).map((w) => (JSON.parse(w.body) as { data: { state: string } }).data.state);
    expect(delivered).toEqual(['PENDING', 'SUCCESS']);
  });

  it('sends each delivery once when two forwarders race over the same outbox', async () => {
    const refs = Array.from({ length: 20 }, (_, i) => `race-${Date.now()}-${i}`);
    for (const ref of refs) await notify(requestFields({ originalMsgId: ref }));
    startForwarder();
    startForwarder();
    await waitFor(() => downstream.received.length >= refs.length, 10_000, 'all webhooks');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const ids = downstream.received.map((w) => w.headers['webhook-id']);
    expect(ids).toHaveLength(refs.length);
    expect(new Set(ids).size).toBe(refs.length);
  });

  it('recovers a delivery whose worker died holding its lease, once the lease expires', async () => {
    const fields = requestFields();
    await notify(fields);
    // A worker claims it with a short lease and "dies" without recording anything.
    const claimed = await claimDueDeliveries(t.db.pool, 10, 1_500, downstream.url, 30_000);
    expect(claimed.map((d) => d.eventId)).toContain((await delivery(fields.originalMsgId as string))[0]?.public_id);
    startForwarder();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(downstream.received).toHaveLength(0);
    await waitFor(async () => (await delivery(fields.originalMsgId as string))[0]?.status === 'delivered', 5_000, 'recovered');
    expect(downstream.received).toHaveLength(1);
  });

  it('forwards nothing for repeated or conflicting notifications', async () => {
    startForwarder();
    const ref = `quiet-${Date.now()}`;
    const success = requestFields({ originalMsgId: ref, trxState: 'SUCCESS' });
    await notify(success);
    await notify(success);
    await notify(requestFields({ originalMsgId: ref, trxState: 'FAILED' }));
    await waitFor(() => downstream.received.length >= 1, 5_000, 'the webhook');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(downstream.received).toHaveLength(1);
    expect(await delivery(ref)).toHaveLength(1);
  });
});
