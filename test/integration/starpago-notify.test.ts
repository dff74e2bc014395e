import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createForwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { FORWARD_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';
import { STARPAGO_APP_ID, STARPAGO_APP_SECRET, notificationsOf, opsGet, orderDetail, postStarpago, signedV2, v2Fields, v3Fields } from '../helpers/starpago.js';

let fake: FakeStarpago;
let downstream: FakeDownstream;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeStarpago({ appId: STARPAGO_APP_ID, appSecret: STARPAGO_APP_SECRET });
  downstream = await startFakeDownstream();
  t = await startTestApp({
    STARPAGO_APP_ID,
    STARPAGO_APP_SECRET,
    STARPAGO_API_URL: fake.url,
    RECONCILE_SCHEDULE: '1s,1s,1s',
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_BACKOFF_MS: '40',
  });
});
afterAll(async () => {
  await t.close();
  await downstream.close();
  await fake.close();
});

/** Posts a signed v2 callback and expects StarPago's acknowledgement. */
async function acceptedV2(kind: string, fields: Record<string, unknown>, encoding: 'json' | 'form' = 'json') {
  const response = await postStarpago(t.app, kind, signedV2(fields), { encoding });
  expect(response.statusCode).toBe(200);
  expect(response.body).toBe('SUCCESS');
  return response;
}

/** Runs reconciliation rounds until `orderRef` has no unverified hint left. */
async function settleHints(orderRef: string) {
  await waitFor(
    async () => {
      await t.reconciler.runDue();
      return (await notificationsOf(t.app, orderRef)).every((n) => n.status !== 'unverified');
    },
    10_000,
    `the hints of ${orderRef} to be settled`,
  );
}

describe('StarPago v2 callbacks through /notify/starpago', () => {
  it('acknowledge an authentic callback with exactly SUCCESS as text/plain, and create the order', async () => {
    const fields = v2Fields({ amount: '10.5', currency: 'PHP', orderStatus: 2 });
    const response = await acceptedV2('payin', fields);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.rawPayload.equals(Buffer.from('SUCCESS'))).toBe(true);

    const detail = await orderDetail(t.app, 'payin', fields.merOrderNo as string);
    expect(detail?.order).toMatchObject({
      provider: 'starpago',
      kind: 'payin',
      orderRef: fields.merOrderNo,
      state: 'SUCCESS',
      rawState: '2',
      amount: 1050,
      paidAmount: null,
      currency: 'PHP',
      trxDate: new Date(1663236430613).toISOString(),
      conflict: false,
      notificationCount: 1,
    });
    expect(detail?.notifications).toMatchObject([{ source: 'notification', status: 'accepted', deliveryCount: 1 }]);
    // The request is kept as received, its sign included; the secret never is.
    expect(detail?.notifications[0]?.request).toMatchObject({ ...fields, sign: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(detail)).not.toContain(STARPAGO_APP_SECRET);
  });

  it.each([
    { currency: 'PHP', amount: 10.5, expected: 1050 },
    { currency: 'PHP', amount: '1234.56', expected: 123456 },
    { currency: 'IDR', amount: 13500, expected: 1350000 },
    { currency: 'JPY', amount: 1500, expected: 1500 },
    { currency: 'KRW', amount: '50000', expected: 50000 },
    { currency: 'BHD', amount: '1.5', expected: 1500 },
  ])('store $amount $currency as $expected minor units', async ({ currency, amount, expected }) => {
    const fields = v2Fields({ currency, amount });
    await acceptedV2('payout', fields);
    expect((await orderDetail(t.app, 'payout', fields.merOrderNo as string))?.order).toMatchObject({ amount: expected, currency });
  });

  it('store a paid amount from realAmount, in minor units', async () => {
    const fields = v2Fields({ currency: 'BDT', amount: 500, realAmount: '499.50' });
    await acceptedV2('payin', fields);
    expect((await orderDetail(t.app, 'payin', fields.merOrderNo as string))?.order).toMatchObject({ amount: 50000, paidAmount: 49950 });
  });

  it('store a null amount for an unknown currency or a too fine fraction, keep the raw value, and still accept', async () => {
    for (const [currency, amount] of [
      ['XQZ', '12.34'],
      ['JPY', '10.5'],
    ] as const) {
      const fields = v2Fields({ currency, amount });
      await acceptedV2('payin', fields);
      const detail = await orderDetail(t.app, 'payin', fields.merOrderNo as string);
      expect(detail?.order).toMatchObject({ state: 'SUCCESS', amount: null, currency });
      expect(detail?.notifications[0]?.request).toMatchObject({ amount, currency });
    }
  });

  it.each([
    { orderStatus: 2, state: 'SUCCESS' },
    { orderStatus: 3, state: 'SUCCESS' },
    { orderStatus: -1, state: 'FAILED' },
    { orderStatus: -2, state: 'FAILED' },
    { orderStatus: -3, state: 'FAILED' },
    { orderStatus: 0, state: 'PENDING' },
    { orderStatus: 1, state: 'PENDING' },
    { orderStatus: -4, state: 'PENDING' },
  ])('map orderStatus $orderStatus to $state', async ({ orderStatus, state }) => {
    const fields = v2Fields({ orderStatus });
    await acceptedV2('payout', fields);
    expect((await orderDetail(t.app, 'payout', fields.merOrderNo as string))?.order).toMatchObject({ state, rawState: String(orderStatus) });
  });

  it('accept a form-encoded callback with the same fields', async () => {
    const fields = v2Fields({ amount: '77.25', orderStatus: '-1', message: 'bank rejected the transfer' });
    await acceptedV2('payout', fields, 'form');
    const detail = await orderDetail(t.app, 'payout', fields.merOrderNo as string);
    expect(detail?.order).toMatchObject({ state: 'FAILED', rawState: '-1', amount: 7725, errorMessage: 'bank rejected the transfer' });
    // Every value of a form body is text, and is kept as such.
    expect(detail?.notifications[0]?.request).toMatchObject({ orderStatus: '-1', createTime: '1663236384416' });
  });

  it('refuse a wrong signature with 401, change nothing, and record the refusal', async () => {
    const fields = v2Fields({ orderStatus: 0 });
    await acceptedV2('payin', fields);

    const forged = { ...fields, orderStatus: 2, updateTime: 1663236499999 };
    for (const body of [signedV2(forged, 'not-the-app-secret'), { ...signedV2(forged), amount: 1_000_000 }]) {
      const response = await postStarpago(t.app, 'payin', body);
      expect(response.statusCode).toBe(401);
      expect(response.body).not.toContain('SUCCESS');
      expect(response.json()).toMatchObject({ code: 'SIGNATURE_INVALID' });
    }

    const detail = await orderDetail(t.app, 'payin', fields.merOrderNo as string);
    expect(detail?.order).toMatchObject({ state: 'PENDING', amount: 1000, notificationCount: 1 });
    expect(detail?.events).toHaveLength(1);
    const rejected = (await notificationsOf(t.app, fields.merOrderNo as string)).filter((n) => n.status === 'rejected');
    expect(rejected).toHaveLength(2);
    expect(rejected.map((n) => n.reason)).toEqual(['SIGNATURE_INVALID', 'SIGNATURE_INVALID']);
    expect(rejected[1]?.request).toMatchObject({ amount: 1_000_000, orderStatus: 2 });
  });

  it('refuse a callback for an order never seen with 401 and create no order', async () => {
    const fields = v2Fields();
    const response = await postStarpago(t.app, 'payout', signedV2(fields, 'guessed-secret'));
    expect(response.statusCode).toBe(401);
    expect(await orderDetail(t.app, 'payout', fields.merOrderNo as string)).toBeNull();
    expect(await notificationsOf(t.app, fields.merOrderNo as string)).toMatchObject([{ status: 'rejected', reason: 'SIGNATURE_INVALID' }]);
  });

  it('store a repeat once, count it, and answer SUCCESS again', async () => {
    const fields = v2Fields({ orderStatus: 3 });
    await acceptedV2('payin', fields);
    await acceptedV2('payin', fields);
    // The same fields form-encoded are the same string to sign: the same callback.
    await acceptedV2('payin', fields, 'form');

    const detail = await orderDetail(t.app, 'payin', fields.merOrderNo as string);
    expect(detail?.notifications).toMatchObject([{ status: 'accepted', deliveryCount: 3 }]);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', notificationCount: 1 });
    expect(detail?.events).toHaveLength(1);
  });

  it('store a repeat once when StarPago sends it in parallel', async () => {
    const fields = v2Fields({ orderStatus: -2 });
    const replies = await Promise.all(Array.from({ length: 6 }, () => postStarpago(t.app, 'payout', signedV2(fields))));
    expect(replies.map((r) => r.body)).toEqual(Array(6).fill('SUCCESS'));
    const detail = await orderDetail(t.app, 'payout', fields.merOrderNo as string);
    expect(detail?.notifications).toMatchObject([{ deliveryCount: 6 }]);
    expect(detail?.events).toHaveLength(1);
  });

  it('move a PENDING order to SUCCESS with one changed event, and ignore a late PENDING', async () => {
    const fields = v2Fields({ orderStatus: 1 });
    await acceptedV2('payin', fields);
    await acceptedV2('payin', { ...fields, orderStatus: 2, updateTime: (fields.updateTime as number) + 1000 });
    await acceptedV2('payin', { ...fields, orderStatus: 0, updateTime: (fields.updateTime as number) + 2000 });

    const detail = await orderDetail(t.app, 'payin', fields.merOrderNo as string);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', rawState: '2', notificationCount: 3, conflict: false });
    expect(detail?.events.map((e) => [e.data.previousState, e.data.state])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'SUCCESS'],
    ]);
  });

  it('flag SUCCESS then FAILED as a conflict, without an event', async () => {
    const fields = v2Fields({ orderStatus: 2 });
    await acceptedV2('payout', fields);
    await acceptedV2('payout', { ...fields, orderStatus: -1, updateTime: (fields.updateTime as number) + 1000 });
    const detail = await orderDetail(t.app, 'payout', fields.merOrderNo as string);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', conflict: true, notificationCount: 2 });
    expect(detail?.events).toHaveLength(1);
  });

  it('move a SUCCESS order to REFUNDED when StarPago answers REFUNDED to a query, with one changed event', async () => {
    const fields = v2Fields({ orderStatus: 2, amount: '300', currency: 'PHP' });
    await acceptedV2('payin', fields);
    const orderRef = fields.merOrderNo as string;
    fake.setOrder('payin', orderRef, { status: 'REFUNDED', amount: '300.00', paidAmount: '300.00', currency: 'PHP', updateTime: 1663300000000 });

    // v2 has no refunded status: StarPago's v3 callback says so, and only the query's answer moves the order.
    const hint = await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef, status: 'REFUNDED', amount: '300.00', updateTime: 1663300000000 }));
    expect(hint.body).toBe('SUCCESS');
    expect((await orderDetail(t.app, 'payin', orderRef))?.order.state).toBe('SUCCESS');
    await settleHints(orderRef);

    const detail = await orderDetail(t.app, 'payin', orderRef);
    expect(detail?.order).toMatchObject({ state: 'REFUNDED', rawState: 'REFUNDED', conflict: false, notificationCount: 1 });
    expect(detail?.events.map((e) => e.data)).toMatchObject([
      { state: 'SUCCESS', previousState: null, source: 'notification' },
      { state: 'REFUNDED', previousState: 'SUCCESS', source: 'query', rawState: 'REFUNDED', amount: 30000, paidAmount: 30000 },
    ]);
    expect(detail?.notifications.map((n) => [n.source, n.status])).toEqual([
      ['notification', 'accepted'],
      ['notification', 'accepted'],
      ['query', 'accepted'],
    ]);
  });
});

describe('StarPago events', () => {
  it('reach the downstream as starpago.<kind>.state_changed webhooks with provider and source', async () => {
    const destinations: Destination[] = createDestinations(t.config.forward.urls, { timeoutMs: 2_000, webhookSecret: FORWARD_SECRET });
    // Everything earlier in this file is already out of the way: only this test's events are sent.
    await t.db.pool.query("UPDATE deliveries SET status = 'delivered' WHERE status = 'pending'");
    downstream.received.length = 0;
    const forwarder = createForwarder({
      pool: t.db.pool,
      listenPool: t.db.listenPool,
      destinations,
      forward: t.config.forward,
      logger: createLogger('silent'),
      pollMs: 50,
    });
    void forwarder.start();
    try {
      const payin = v2Fields({ orderStatus: 0, amount: '10.50', currency: 'PHP' });
      await acceptedV2('payin', payin);
      const payout = v2Fields({ orderStatus: -1, amount: 13500, currency: 'IDR' });
      await acceptedV2('payout', payout);
      const payinRef = payin.merOrderNo as string;
      fake.setOrder('payin', payinRef, { status: 'PAID', amount: '10.50', paidAmount: '10.50', currency: 'PHP', updateTime: 1663236999000 });
      expect((await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: payinRef, status: 'PAID' }))).body).toBe('SUCCESS');
      await settleHints(payinRef);

      await waitFor(() => downstream.received.length >= 3, 10_000, 'three webhooks');
      const sent = downstream.received.map(
        (w) => new Webhook(FORWARD_SECRET).verify(w.body, w.headers as Record<string, string>) as { type: string; data: Record<string, unknown> },
      );
      const byRef = (ref: string) => sent.filter((s) => s.data.orderRef === ref);
      expect(byRef(payinRef)).toMatchObject([
        {
          type: 'starpago.payin.state_changed',
          data: { provider: 'starpago', kind: 'payin', source: 'notification', state: 'PENDING', rawState: '0', amount: 1050 },
        },
        {
          type: 'starpago.payin.state_changed',
          data: { provider: 'starpago', kind: 'payin', source: 'query', state: 'SUCCESS', previousState: 'PENDING', rawState: 'PAID', paidAmount: 1050 },
        },
      ]);
      expect(byRef(payout.merOrderNo as string)).toEqual([
        {
          type: 'starpago.payout.state_changed',
          timestamp: expect.any(String),
          data: {
            provider: 'starpago',
            kind: 'payout',
            orderRef: payout.merOrderNo,
            source: 'notification',
            state: 'FAILED',
            previousState: null,
            rawState: '-1',
            amount: 1350000,
            paidAmount: null,
            expectedAmount: null,
            currency: 'IDR',
            trxDate: new Date(1663236430613).toISOString(),
            errorCode: null,
            errorMessage: null,
          },
        },
      ]);
    } finally {
      await forwarder.stop();
      await Promise.all(destinations.map((destination) => destination.close()));
    }
  });
});

describe('the ops API on StarPago orders', () => {
  it('lists StarPago orders apart from Starpay ones, hints as unverified, and query answers by source', async () => {
    const starpay = requestFields({ trxState: 'SUCCESS' });
    expect((await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(starpay, t.starpay.privateKey) })).body).toBe('SUCCESS');
    const v2 = v2Fields({ orderStatus: 2 });
    await acceptedV2('payout', v2);
    const hinted = v3Fields({ status: 'PAID' });
    expect((await postStarpago(t.app, 'payin', hinted)).body).toBe('SUCCESS');

    const orders = await opsGet<{ items: { provider: string; orderRef: string }[] }>(t.app, '/ops/orders?provider=starpago&limit=500');
    expect(orders.status).toBe(200);
    expect(orders.body.items.every((o) => o.provider === 'starpago')).toBe(true);
    const refs = orders.body.items.map((o) => o.orderRef);
    expect(refs).toContain(v2.merOrderNo);
    expect(refs).not.toContain(starpay.originalMsgId);
    // A hint alone is no order.
    expect(refs).not.toContain(hinted.merOrderNo);
    const starpayOrders = await opsGet<{ items: { orderRef: string }[] }>(t.app, '/ops/orders?provider=starpay&limit=500');
    expect(starpayOrders.body.items.map((o) => o.orderRef)).toContain(starpay.originalMsgId);

    const unverified = await opsGet<{ items: { orderRef: string; status: string; source: string; request: unknown }[] }>(
      t.app,
      '/ops/notifications?status=unverified&limit=500',
    );
    expect(unverified.body.items.every((n) => n.status === 'unverified')).toBe(true);
    expect(unverified.body.items.find((n) => n.orderRef === hinted.merOrderNo)).toMatchObject({ source: 'notification', request: hinted });

    fake.setOrder('payin', hinted.merOrderNo as string, { status: 'PAID', amount: '250.00', paidAmount: '250.00', currency: 'PHP', updateTime: 1700000060000 });
    await settleHints(hinted.merOrderNo as string);

    const answers = await opsGet<{ items: { orderRef: string; status: string; source: string; request: unknown }[] }>(
      t.app,
      '/ops/notifications?source=query&limit=500',
    );
    expect(answers.body.items.every((n) => n.source === 'query')).toBe(true);
    expect(answers.body.items.find((n) => n.orderRef === hinted.merOrderNo)).toMatchObject({
      status: 'accepted',
      request: { code: 0, data: { status: 'PAID', merOrderNo: hinted.merOrderNo } },
    });
    const stillUnverified = await opsGet<{ items: { orderRef: string }[] }>(t.app, '/ops/notifications?status=unverified&limit=500');
    expect(stillUnverified.body.items.map((n) => n.orderRef)).not.toContain(hinted.merOrderNo);
    const listed = await opsGet<{ items: { orderRef: string; state: string }[] }>(
      t.app,
      `/ops/orders?provider=starpago&orderRef=${hinted.merOrderNo as string}`,
    );
    expect(listed.body.items).toMatchObject([{ orderRef: hinted.merOrderNo, state: 'SUCCESS' }]);
  });
});
