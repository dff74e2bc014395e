import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ FORWARD_URLS: 'http://127.0.0.1:9/hook', FORWARD_SECRET });
});
afterAll(async () => {
  await t.close();
});

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

describe('GET /ops/orders/:kind/:orderRef', () => {
  it('returns the order with its notifications and deliveries', async () => {
    const fields = requestFields({ trxState: 'SUCCESS', trxAmount: '10000' });
    const body = signedBody(fields, t.starpay.privateKey);
    await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: body });
    await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: body });

    const response = await t.app.inject({ url: `/ops/orders/repayment/${String(fields.originalMsgId)}`, headers: auth });
    expect(response.statusCode).toBe(200);
    const detail = response.json();
    expect(detail.order).toEqual({
      provider: 'starpay',
      kind: 'repayment',
      orderRef: fields.originalMsgId,
      state: 'SUCCESS',
      rawState: 'SUCCESS',
      amount: 10000,
      paidAmount: null,
      expectedAmount: null,
      currency: 'PHP',
      trxDate: '2024-11-25T17:49:51+08:00',
      errorCode: null,
      errorMessage: null,
      conflict: false,
      amountMismatch: false,
      stale: false,
      notificationCount: 1,
      lastQueriedAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(detail.notifications).toEqual([
      {
        id: expect.stringMatching(/^ntf_\d+$/),
        provider: 'starpay',
        kind: 'repayment',
        orderRef: fields.originalMsgId,
        msgId: fields.msgId,
        source: 'notification',
        status: 'accepted',
        hint: false,
        reason: null,
        firstReceivedAt: expect.any(String),
        lastReceivedAt: expect.any(String),
        deliveryCount: 2,
        request: fields,
        requestPurgedAt: null,
      },
    ]);
    expect(detail.deliveries).toEqual([
      {
        id: expect.stringMatching(/^dlv_\d+$/),
        eventId: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
        url: 'http://127.0.0.1:9/hook',
        destination: 'dst_a94bb7e84946',
        provider: 'starpay',
        kind: 'repayment',
        orderRef: fields.originalMsgId,
        status: 'pending',
        attempts: 0,
        lastError: null,
        nextAttemptAt: expect.any(String),
        deliveredAt: null,
        heldBy: null,
        attemptLog: [],
      },
    ]);
  });

  it('answers 404 for an unknown order or kind', async () => {
    expect((await t.app.inject({ url: '/ops/orders/repayment/nope', headers: auth })).statusCode).toBe(404);
    const unknownKind = await t.app.inject({ url: '/ops/orders/refund/x', headers: auth });
    expect(unknownKind.statusCode).toBe(404);
    expect(unknownKind.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('finds an order by a reference of the longest allowed length, and refuses a longer one with 400', async () => {
    const fields = requestFields({ originalMsgId: `long-${'9'.repeat(123)}` });
    await t.app.inject({ method: 'POST', url: '/notify/starpay/static-qr', payload: signedBody(fields, t.starpay.privateKey) });
    const response = await t.app.inject({ url: `/ops/orders/static-qr/${String(fields.originalMsgId)}`, headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.json().order.orderRef).toBe(fields.originalMsgId);
    const longer = await t.app.inject({ url: `/ops/orders/static-qr/${String(fields.originalMsgId)}9`, headers: auth });
    expect(longer.statusCode).toBe(400);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer wrong' }],
    ['a token without the Bearer scheme', { authorization: OPS_TOKEN }],
  ])('answers 401 with %s', async (_label, headers) => {
    const response = await t.app.inject({ url: '/ops/orders/repayment/x', headers });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('answers 401 to unknown /ops paths without a token too', async () => {
    expect((await t.app.inject({ url: '/ops/whatever' })).statusCode).toBe(401);
  });

  it('answers 401 to every call when OPS_API_TOKEN is unset', async () => {
    const open = await startTestApp({ OPS_API_TOKEN: '' });
    try {
      for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer undefined' }]) {
        expect((await open.app.inject({ url: '/ops/orders/repayment/x', headers })).statusCode).toBe(401);
      }
    } finally {
      await open.close();
    }
  });
});
