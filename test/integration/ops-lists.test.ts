import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const HOOK = 'http://127.0.0.1:9/hook';
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ FORWARD_URLS: HOOK, FORWARD_SECRET, OPS_RATE_LIMIT: '0' });
});
afterAll(async () => {
  await t.close();
});

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

async function notify(kind: string, overrides: Record<string, unknown> = {}) {
  const fields = requestFields(overrides);
  const response = await t.app.inject({ method: 'POST', url: `/notify/starpay/${kind}`, payload: signedBody(fields, t.starpay.privateKey) });
  expect(response.body).toBe('SUCCESS');
  return fields as { originalMsgId: string; msgId: string } & Record<string, unknown>;
}

async function get(url: string) {
  const response = await t.app.inject({ url, headers: auth });
  return { status: response.statusCode, body: response.json() };
}

/** Follows nextCursor to the end, running `between` after every page. */
async function allPages(url: string, between: () => Promise<void> = async () => {}) {
  const pages: { items: Record<string, unknown>[]; nextCursor: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const { status, body } = await get(cursor === null ? url : `${url}${separator}cursor=${cursor}`);
    expect(status).toBe(200);
    pages.push(body);
    cursor = body.nextCursor;
    await between();
  } while (cursor !== null);
  return pages;
}

/** Orders and notifications this file created, so assertions ignore nothing and guess nothing. */
async function ordersInDatabase(where = 'true', values: unknown[] = []): Promise<string[]> {
  const { rows } = await t.db.pool.query<{ ref: string }>(
    `SELECT kind || '/' || order_ref AS ref FROM orders WHERE ${where} ORDER BY updated_at DESC, id DESC`,
    values,
  );
  return rows.map((row) => row.ref);
}

const refOf = (order: Record<string, unknown>) => `${String(order.kind)}/${String(order.orderRef)}`;

describe('GET /ops/orders', () => {
  it('lists orders newest first in the Order shape, with a null nextCursor on the last page', async () => {
    const first = await notify('repayment', { trxState: 'PROCESSING', trxAmount: '2500' });
    const second = await notify('disbursement', { trxState: 'SUCCESS' });

    const { status, body } = await get('/ops/orders');
    expect(status).toBe(200);
    expect(body.nextCursor).toBeNull();
    expect(body.items.map(refOf).slice(0, 2)).toEqual([`disbursement/${second.originalMsgId}`, `repayment/${first.originalMsgId}`]);
    expect(body.items[1]).toEqual({
      provider: 'starpay',
      kind: 'repayment',
      orderRef: first.originalMsgId,
      state: 'PENDING',
      rawState: 'PROCESSING',
      amount: 2500,
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
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('moves an order to the front when a notification updates it', async () => {
    const older = await notify('repayment', { trxState: 'PROCESSING' });
    await notify('repayment');
    await notify('repayment', { originalMsgId: older.originalMsgId, trxState: 'SUCCESS' });

    const { body } = await get('/ops/orders?limit=1');
    expect(body.items.map(refOf)).toEqual([`repayment/${older.originalMsgId}`]);
    expect(body.items[0]).toMatchObject({ state: 'SUCCESS', notificationCount: 2 });
  });

  it('combines kind, state and conflict filters', async () => {
    const conflicted = await notify('static-qr', { trxState: 'SUCCESS' });
    await notify('static-qr', { originalMsgId: conflicted.originalMsgId, trxState: 'FAILED' });
    const failed = await notify('static-qr', { trxState: 'FAILED' });
    await notify('repayment', { trxState: 'FAILED' });

    const conflicts = await get('/ops/orders?kind=static-qr&state=SUCCESS&conflict=true');
    expect(conflicts.body.items.map(refOf)).toEqual([`static-qr/${conflicted.originalMsgId}`]);
    expect(conflicts.body.items[0]).toMatchObject({ state: 'SUCCESS', conflict: true, notificationCount: 2 });

    const staticFailed = await get('/ops/orders?kind=static-qr&state=FAILED&conflict=false');
    expect(staticFailed.body.items.map(refOf)).toEqual(await ordersInDatabase("kind = 'static-qr' AND state = 'FAILED' AND NOT conflict"));
    expect(staticFailed.body.items.map(refOf)).toContain(`static-qr/${failed.originalMsgId}`);

    const noConflict = await get('/ops/orders?conflict=false&limit=500');
    expect(noConflict.body.items.map(refOf)).toEqual(await ordersInDatabase('NOT conflict'));
  });

  it('filters on updatedAfter and updatedBefore, both exclusive', async () => {
    const refs: string[] = [];
    for (let second = 1; second <= 4; second += 1) {
      const { originalMsgId } = await notify('disbursement');
      await t.db.pool.query('UPDATE orders SET updated_at = $1 WHERE order_ref = $2', [`2020-02-01T00:00:0${second}.000Z`, originalMsgId]);
      refs.push(`disbursement/${originalMsgId}`);
    }

    const between = await get('/ops/orders?updatedAfter=2020-02-01T00:00:01.000Z&updatedBefore=2020-02-01T00:00:04.000Z');
    expect(between.body.items.map(refOf)).toEqual([refs[2], refs[1]]);

    // An offset names the same instant: 08:00:03+08:00 is 00:00:03Z.
    const after = await get(`/ops/orders?updatedAfter=${encodeURIComponent('2020-02-01T08:00:03+08:00')}&updatedBefore=2021-01-01T00:00:00Z`);
    expect(after.body.items.map(refOf)).toEqual([refs[3]]);

    const before = await get('/ops/orders?kind=disbursement&updatedBefore=2020-02-01T00:00:02Z&limit=500');
    expect(before.body.items.map(refOf)).toEqual(await ordersInDatabase("kind = 'disbursement' AND updated_at < '2020-02-01T00:00:02Z'"));
    expect(before.body.items.map(refOf)[0]).toBe(refs[0]);
  });

  it('pages never overlap or skip an order while new orders arrive between pages', async () => {
    for (let i = 0; i < 11; i += 1) await notify('repayment');
    const before = await ordersInDatabase();

    const pages = await allPages('/ops/orders?limit=4', async () => {
      await notify('repayment');
    });
    const seen = pages.flatMap((page) => page.items.map(refOf));
    expect(pages.length).toBeGreaterThan(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before);
    for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(4);
  });

  it('pages through orders sharing the same updatedAt without skipping any', async () => {
    await t.db.pool.query("UPDATE orders SET updated_at = '2020-01-01T00:00:00.123Z' WHERE kind = 'disbursement'");
    const tied = await ordersInDatabase("kind = 'disbursement'");
    expect(tied.length).toBeGreaterThan(4);

    const pages = await allPages('/ops/orders?kind=disbursement&limit=2');
    expect(pages.flatMap((page) => page.items.map(refOf))).toEqual(tied);
  });
});

describe('GET /ops/notifications', () => {
  it('lists accepted and rejected notifications newest first in the Notification shape', async () => {
    const accepted = await notify('repayment', { trxState: 'SUCCESS' });
    const forged = requestFields();
    const refused = await t.app.inject({
      method: 'POST',
      url: '/notify/starpay/disbursement',
      payload: JSON.stringify({ request: forged, signature: Buffer.from('forged').toString('base64') }),
    });
    expect(refused.statusCode).toBe(401);

    const { status, body } = await get('/ops/notifications?limit=2');
    expect(status).toBe(200);
    expect(body.nextCursor).toEqual(expect.any(String));
    expect(body.items).toEqual([
      {
        id: expect.stringMatching(/^ntf_\d+$/),
        provider: 'starpay',
        kind: 'disbursement',
        orderRef: forged.originalMsgId,
        msgId: forged.msgId,
        source: 'notification',
        status: 'rejected',
        hint: false,
        reason: 'SIGNATURE_INVALID',
        firstReceivedAt: expect.any(String),
        lastReceivedAt: expect.any(String),
        deliveryCount: 1,
        request: forged,
        requestPurgedAt: null,
      },
      {
        id: expect.stringMatching(/^ntf_\d+$/),
        provider: 'starpay',
        kind: 'repayment',
        orderRef: accepted.originalMsgId,
        msgId: accepted.msgId,
        source: 'notification',
        status: 'accepted',
        hint: false,
        reason: null,
        firstReceivedAt: expect.any(String),
        lastReceivedAt: expect.any(String),
        deliveryCount: 1,
        request: accepted,
        requestPurgedAt: null,
      },
    ]);
  });

  it('combines status, kind and orderRef filters', async () => {
    const order = await notify('static-qr', { trxState: 'PROCESSING' });
    await notify('static-qr', { originalMsgId: order.originalMsgId, trxState: 'SUCCESS' });
    await notify('repayment', { originalMsgId: order.originalMsgId });
    const body = signedBody(requestFields({ originalMsgId: order.originalMsgId }), t.starpay.privateKey).replace('"signature":"', '"signature":"AAAA');
    expect((await t.app.inject({ method: 'POST', url: '/notify/starpay/static-qr', payload: body })).statusCode).toBe(401);

    const accepted = await get(`/ops/notifications?status=accepted&kind=static-qr&orderRef=${order.originalMsgId}`);
    expect(accepted.body.items.map((n: Record<string, unknown>) => [n.kind, n.status, n.request && (n.request as { trxState: string }).trxState])).toEqual([
      ['static-qr', 'accepted', 'SUCCESS'],
      ['static-qr', 'accepted', 'PROCESSING'],
    ]);

    const rejected = await get(`/ops/notifications?status=rejected&orderRef=${order.originalMsgId}`);
    expect(rejected.body.items).toHaveLength(1);
    expect(rejected.body.items[0]).toMatchObject({ kind: 'static-qr', status: 'rejected', reason: 'SIGNATURE_INVALID', orderRef: order.originalMsgId });

    const anyKind = await get(`/ops/notifications?orderRef=${order.originalMsgId}`);
    expect(anyKind.body.items.map((n: Record<string, unknown>) => n.kind)).toEqual(['static-qr', 'repayment', 'static-qr', 'static-qr']);
  });

  it('tells StarPago hints from refused requests: hint=false leaves a contradicted hint out of the rejected ones', async () => {
    const order = await notify('repayment', { trxState: 'PROCESSING' });
    const forged = signedBody(requestFields({ originalMsgId: order.originalMsgId }), t.starpay.privateKey).replace('"signature":"', '"signature":"AAAA');
    expect((await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: forged })).statusCode).toBe(401);
    // A StarPago v3 hint that a query answer contradicted, as settle_hints() leaves it.
    await t.db.pool.query(
      `INSERT INTO notifications (provider, kind, order_ref, dedup_key, status, reason, hint, request)
       VALUES ('starpago', 'payin', $1, 'hint:contradicted', 'rejected', 'CONTRADICTED_BY_PROVIDER', true, '{}')`,
      [order.originalMsgId],
    );

    const refused = await get(`/ops/notifications?status=rejected&hint=false&orderRef=${order.originalMsgId}`);
    expect(refused.body.items.map((n: Record<string, unknown>) => [n.reason, n.hint])).toEqual([['SIGNATURE_INVALID', false]]);
    const hints = await get(`/ops/notifications?status=rejected&hint=true&orderRef=${order.originalMsgId}`);
    expect(hints.body.items.map((n: Record<string, unknown>) => [n.reason, n.hint])).toEqual([['CONTRADICTED_BY_PROVIDER', true]]);
    expect((await get(`/ops/notifications?status=rejected&orderRef=${order.originalMsgId}`)).body.items).toHaveLength(2);
  });

  it('pages never overlap or skip a notification while new ones arrive between pages', async () => {
    for (let i = 0; i < 7; i += 1) await notify('repayment');
    const { rows } = await t.db.pool.query<{ id: number }>('SELECT id FROM notifications ORDER BY id DESC');
    const before = rows.map((row) => `ntf_${row.id}`);

    const pages = await allPages('/ops/notifications?limit=3', async () => {
      await notify('disbursement');
    });
    const seen = pages.flatMap((page) => page.items.map((n) => n.id));
    expect(seen).toEqual(before);
  });
});

describe('GET /ops/deliveries', () => {
  it('lists deliveries newest first in the Delivery shape, filtered by status', async () => {
    const order = await notify('repayment', { trxState: 'SUCCESS' });
    const { rows } = await t.db.pool.query<{ id: number }>('SELECT d.id FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE o.order_ref = $1', [
      order.originalMsgId,
    ]);
    const id = rows[0]?.id;
    await t.db.pool.query("UPDATE deliveries SET status = 'dead', attempts = 12, last_error = 'HTTP 500' WHERE id = $1", [id]);

    const dead = await get('/ops/deliveries?status=dead');
    expect(dead.status).toBe(200);
    expect(dead.body).toEqual({
      items: [
        {
          id: `dlv_${id}`,
          eventId: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
          url: HOOK,
          destination: expect.stringMatching(/^dst_[0-9a-f]{12}$/),
          provider: 'starpay',
          kind: 'repayment',
          orderRef: expect.any(String),
          status: 'dead',
          attempts: 12,
          lastError: 'HTTP 500',
          nextAttemptAt: null,
          deliveredAt: null,
          heldBy: null,
        },
      ],
      nextCursor: null,
    });

    const pending = await get('/ops/deliveries?status=pending&limit=500');
    const { rows: pendingRows } = await t.db.pool.query<{ id: number }>("SELECT id FROM deliveries WHERE status = 'pending' ORDER BY id DESC");
    expect(pending.body.items.map((d: Record<string, unknown>) => d.id)).toEqual(pendingRows.map((row) => `dlv_${row.id}`));
    expect(pending.body.items[0]).toMatchObject({ status: 'pending', nextAttemptAt: expect.any(String), attempts: 0 });
  });

  it('pages never overlap or skip a delivery while new ones arrive between pages', async () => {
    await t.db.pool.query("UPDATE deliveries SET status = 'delivered', delivered_at = now() WHERE id % 2 = 0");
    const { rows } = await t.db.pool.query<{ id: number }>("SELECT id FROM deliveries WHERE status = 'delivered' ORDER BY id DESC");
    expect(rows.length).toBeGreaterThan(5);

    const pages = await allPages('/ops/deliveries?status=delivered&limit=2', async () => {
      await notify('repayment');
      await t.db.pool.query("UPDATE deliveries SET status = 'delivered', delivered_at = now() WHERE id = (SELECT max(id) FROM deliveries)");
    });
    const seen = pages.flatMap((page) => page.items);
    expect(seen.map((d) => d.id)).toEqual(rows.map((row) => `dlv_${row.id}`));
    expect(seen.every((d) => d.status === 'delivered' && typeof d.deliveredAt === 'string')).toBe(true);
  });
});

describe('bad parameters', () => {
  it.each([
    ['/ops/orders?limit=0', 'limit'],
    ['/ops/orders?limit=501', 'limit'],
    ['/ops/orders?limit=ten', 'limit'],
    ['/ops/orders?kind=refund', 'kind'],
    ['/ops/orders?state=DONE', 'state'],
    ['/ops/orders?conflict=yes', 'conflict'],
    ['/ops/orders?updatedAfter=yesterday', 'updatedAfter'],
    ['/ops/orders?updatedBefore=2026-01-01', 'updatedBefore'],
    ['/ops/orders?cursor=not-a-cursor', 'cursor'],
    ['/ops/orders?kind=repayment&kind=disbursement', 'kind'],
    ['/ops/orders?sort=asc', 'sort'],
    ['/ops/notifications?status=pending', 'status'],
    ['/ops/notifications?kind=refund', 'kind'],
    ['/ops/notifications?orderRef=', 'orderRef'],
    ['/ops/notifications?limit=-1', 'limit'],
    ['/ops/notifications?cursor=eyJpIjoiYWJjIn0', 'cursor'],
    ['/ops/deliveries?status=failed', 'status'],
    ['/ops/deliveries?limit=1000', 'limit'],
    ['/ops/deliveries?cursor=%%%', 'cursor'],
  ])('%s answers 400 naming %s', async (url, name) => {
    const response = await t.app.inject({ url, headers: auth });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body).toEqual({
      code: 'INVALID_PARAMETER',
      message: expect.stringContaining(`invalid parameter: ${name}`),
      requestId: response.headers['x-request-id'],
    });
  });

  it('refuses a cursor of another listing', async () => {
    await notify('repayment');
    const notifications = await get('/ops/notifications?limit=1');
    const response = await get(`/ops/orders?cursor=${notifications.body.nextCursor}`);
    expect(response.status).toBe(400);
    expect(response.body.message).toContain('cursor');
  });
});

describe('authentication', () => {
  const calls = [
    ['GET', '/ops/orders'],
    ['GET', '/ops/notifications'],
    ['GET', '/ops/deliveries'],
    ['POST', '/ops/deliveries/dlv_1/retry'],
  ] as const;

  it.each(calls)('%s %s answers 401 without a token and with a wrong one', async (method, url) => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${OPS_TOKEN}` }]) {
      const response = await t.app.inject({ method, url, headers });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'UNAUTHORIZED', requestId: expect.any(String) });
    }
  });
});
