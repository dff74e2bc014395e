import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeStarpay } from '../../src/sandbox/starpay-api.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const MCH_ID = '101510000001';
const platform = generateRsaKeyPair();
const merchant = generateRsaKeyPair();
const stranger = generateRsaKeyPair();

type Fake = Awaited<ReturnType<typeof startFakeStarpay>>;
let fake: Fake;
let t: TestApp;

/** A service whose Starpay orders are queried against the fake, on a schedule of short slots. */
async function startService(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp(
    {
      STARPAY_API_URL: fake.url,
      STARPAY_MCH_ID: MCH_ID,
      STARPAY_MERCHANT_PRIVATE_KEY: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      RECONCILE_SCHEDULE: '1s,1s,1s',
      ...env,
    },
    { starpay: platform },
  );
}

beforeAll(async () => {
  fake = await startFakeStarpay({ merchantPublicKey: merchant.publicKey, platformPrivateKey: platform.privateKey, mchId: MCH_ID });
  t = await startService();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.signWith(null);
});

let sequence = 0;
const newRef = () => `rec-${Date.now()}-${++sequence}`;

const ops = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: { authorization: `Bearer ${OPS_TOKEN}` }, ...(payload === undefined ? {} : { payload: payload as object }) });

async function notify(kind: string, fields: Record<string, unknown>) {
  const response = await t.app.inject({
    method: 'POST',
    url: `/notify/starpay/${kind}`,
    payload: signedBody(requestFields({ mchId: MCH_ID, ...fields }), platform.privateKey),
  });
  expect(response.body).toBe('SUCCESS');
}

async function order(kind: string, ref: string) {
  const response = await ops('GET', `/ops/orders/${kind}/${encodeURIComponent(ref)}`);
  return response.statusCode === 200
    ? response.json<{ order: Record<string, unknown>; notifications: Record<string, unknown>[]; events: { data: Record<string, unknown> }[] }>()
    : undefined;
}

/** Makes every scheduled query of the given order due now (the schedule's wait, skipped). */
async function dueNow(kind: string, ref: string) {
  await t.db.pool.query('UPDATE provider_queries SET due_at = now() WHERE kind = $1 AND order_ref = $2', [kind, ref]);
}

const queriesFor = (ref: string) => fake.requests.filter((request) => request.originalMsgId === ref);

describe('reconciliation against the Starpay query API', () => {
  it('settles a PENDING order by query, with source query, and every query verifies with the merchant key', async () => {
    const ref = newRef();
    await notify('disbursement', { originalMsgId: ref, trxState: 'PROCESSING' });
    fake.setOrder('disbursement', ref, { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
    await dueNow('disbursement', ref);
    expect(await t.reconciler.runDue()).toBeGreaterThanOrEqual(1);

    const detail = await order('disbursement', ref);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', stale: false, notificationCount: 1, lastQueriedAt: expect.any(String) });
    expect(detail?.notifications.map((n) => [n.source, n.status])).toEqual([
      ['notification', 'accepted'],
      ['query', 'accepted'],
    ]);
    expect(detail?.events.at(-1)?.data).toMatchObject({ state: 'SUCCESS', previousState: 'PENDING', source: 'query', provider: 'starpay' });
    expect(queriesFor(ref).every((request) => request.signatureVerified)).toBe(true);
    expect(new Set(queriesFor(ref).map((request) => request.msgId)).size).toBe(queriesFor(ref).length);
  });

  it('changes nothing on an answer signed by an unknown key, and asks again at the same slot', async () => {
    const ref = newRef();
    await notify('repayment', { originalMsgId: ref, trxState: 'PROCESSING' });
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS' });
    fake.signWith(stranger.privateKey);
    await dueNow('repayment', ref);
    await t.reconciler.runDue();
    const detail = await order('repayment', ref);
    expect(detail?.order).toMatchObject({ state: 'PENDING' });
    expect(detail?.notifications.filter((n) => n.source === 'query')).toHaveLength(0);
    const { rows } = await t.db.pool.query('SELECT failures, query_slot FROM provider_queries q JOIN orders o USING (kind, order_ref) WHERE q.order_ref = $1', [
      ref,
    ]);
    expect(rows[0]).toMatchObject({ failures: 1, query_slot: 0 });
  });

  it.each(['406', '503'])('retries a %s answer at the next slot without using one up, then settles', async (code) => {
    const ref = newRef();
    await notify('repayment', { originalMsgId: ref, trxState: 'PROCESSING' });
    fake.setOrder('repayment', ref, { trxState: 'FAIL' });
    // Only this order is asked in these rounds: another test's order must not take the failure.
    await t.db.pool.query(`UPDATE provider_queries SET due_at = now() + interval '1 hour' WHERE order_ref <> $1`, [ref]);
    fake.failNext(code, 1);
    await dueNow('repayment', ref);
    await t.reconciler.runDue();
    expect((await order('repayment', ref))?.order.state).toBe('PENDING');
    const { rows } = await t.db.pool.query('SELECT due_at > now() AS later FROM provider_queries WHERE order_ref = $1', [ref]);
    expect(rows[0]).toEqual({ later: true });
    await dueNow('repayment', ref);
    await t.reconciler.runDue();
    expect((await order('repayment', ref))?.order.state).toBe('FAILED');
  });

  it('leaves an order the provider does not know unchanged, and uses a slot', async () => {
    const ref = newRef();
    await notify('disbursement', { originalMsgId: ref, trxState: 'PROCESSING' });
    await dueNow('disbursement', ref);
    await t.reconciler.runDue();
    const { rows } = await t.db.pool.query('SELECT state, query_slot FROM orders WHERE order_ref = $1', [ref]);
    expect(rows[0]).toEqual({ state: 'PENDING', query_slot: 1 });
  });

  it('settles an expected order that is never notified, and flags a paid amount other than expected', async () => {
    const ref = newRef();
    const registered = await ops('PUT', `/ops/orders/repayment/${ref}`, { amount: 10000, currency: 'PHP' });
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({ order: { state: 'PENDING', expectedAmount: 10000, rawState: null, notificationCount: 0 } });
    expect((await ops('PUT', `/ops/orders/repayment/${ref}`, { amount: 10000, currency: 'PHP' })).statusCode).toBe(200);

    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 9000, currency: 'PHP' });
    await dueNow('repayment', ref);
    await t.reconciler.runDue();
    const detail = await order('repayment', ref);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', amount: 9000, expectedAmount: 10000, amountMismatch: true });
    expect(detail?.events.at(-1)?.data).toMatchObject({ expectedAmount: 10000, amount: 9000, source: 'query' });
    const listed = await ops('GET', '/ops/orders?amountMismatch=true');
    expect(listed.json<{ items: { orderRef: string }[] }>().items.map((item) => item.orderRef)).toContain(ref);
  });

  it('sets the expected amount of a SUCCESS order that has no amount, flagged since it cannot be checked, and refuses another currency', async () => {
    const ref = newRef();
    await notify('repayment', { originalMsgId: ref, trxState: 'SUCCESS', trxAmount: undefined, currency: undefined });
    const registered = await ops('PUT', `/ops/orders/repayment/${ref}`, { amount: 700, currency: 'PHP' });
    expect(registered.statusCode).toBe(200);
    expect(registered.json()).toMatchObject({ order: { state: 'SUCCESS', amount: null, expectedAmount: 700, amountMismatch: true, currency: 'PHP' } });

    const other = await ops('PUT', `/ops/orders/repayment/${ref}`, { amount: 14, currency: 'USD' });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ code: 'CURRENCY_MISMATCH' });
    expect((await order('repayment', ref))?.order).toMatchObject({ expectedAmount: 700, currency: 'PHP' });
  });

  it('takes a registration in the currency the provider wrote in another case as the same currency', async () => {
    const ref = newRef();
    await notify('repayment', { originalMsgId: ref, trxState: 'SUCCESS', currency: 'php' });
    const stored = (await order('repayment', ref))?.order;
    expect(stored).toMatchObject({ state: 'SUCCESS', currency: 'php' });
    const registered = await ops('PUT', `/ops/orders/repayment/${ref}`, { amount: stored?.amount, currency: 'PHP' });
    expect(registered.statusCode).toBe(200);
    expect(registered.json()).toMatchObject({ order: { expectedAmount: stored?.amount, amountMismatch: false } });
  });

  it('clears an amount mismatch when the expected amount is corrected', async () => {
    const ref = newRef();
    await ops('PUT', `/ops/orders/disbursement/${ref}`, { amount: 100, currency: 'PHP' });
    await notify('disbursement', { originalMsgId: ref, trxState: 'SUCCESS', trxAmount: 150 });
    expect((await order('disbursement', ref))?.order).toMatchObject({ amountMismatch: true });
    await ops('PUT', `/ops/orders/disbursement/${ref}`, { amount: 150, currency: 'PHP' });
    expect((await order('disbursement', ref))?.order).toMatchObject({ amountMismatch: false, expectedAmount: 150 });
  });

  it('answers 400 to a reference holding NUL, and touches nothing', async () => {
    for (const [method, url] of [
      ['PUT', '/ops/orders/repayment/a%00b'],
      ['POST', '/ops/orders/repayment/a%00b/reconcile'],
      ['GET', '/ops/orders/repayment/a%00b'],
      ['GET', '/ops/orders?orderRef=a%00b'],
    ] as const) {
      const response = await ops(method, url, method === 'PUT' ? { amount: 1, currency: 'PHP' } : undefined);
      expect(response.statusCode, url).toBe(400);
      expect(response.json(), url).toMatchObject({ code: 'INVALID_PARAMETER', message: expect.stringContaining('orderRef') });
    }
    expect(fake.requests.filter((request) => request.originalMsgId?.startsWith('a') === true)).toHaveLength(0);
  });

  it('refuses a bad expected order with a 400 naming the field, and registers nothing', async () => {
    const ref = newRef();
    const response = await ops('PUT', `/ops/orders/repayment/${ref}`, { amount: 12.5, currency: 'PHP' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('amount');
    expect(await order('repayment', ref)).toBeUndefined();
  });

  it('marks an order stale after the last slot, lists it, and clears the flag when it changes', async () => {
    const ref = newRef();
    await notify('disbursement', { originalMsgId: ref, trxState: 'PROCESSING' });
    fake.setOrder('disbursement', ref, { trxState: 'PROCESSING' });
    for (let slot = 0; slot < 3; slot++) {
      await dueNow('disbursement', ref);
      await t.reconciler.runDue();
    }
    expect((await order('disbursement', ref))?.order).toMatchObject({ state: 'PENDING', stale: true });
    // One answer kept however often it was given: same state, same amount.
    expect((await order('disbursement', ref))?.notifications.filter((n) => n.source === 'query')).toMatchObject([{ deliveryCount: 3 }]);
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM provider_queries WHERE order_ref = $1', [ref]);
    expect(rows[0]).toEqual({ n: 0 });
    expect((await ops('GET', '/ops/orders?stale=true').then((r) => r.json<{ items: { orderRef: string }[] }>())).items.map((i) => i.orderRef)).toContain(ref);
    expect((await ops('GET', '/ops/summary').then((r) => r.json<{ stale: number }>())).stale).toBeGreaterThanOrEqual(1);

    await notify('disbursement', { originalMsgId: ref, trxState: 'SUCCESS' });
    expect((await order('disbursement', ref))?.order).toMatchObject({ state: 'SUCCESS', stale: false });
  });

  it('asks about an unknown order on request and creates it from the answer', async () => {
    const ref = newRef();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 500, currency: 'PHP' });
    const response = await ops('POST', `/ops/orders/repayment/${ref}/reconcile`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      order: { state: 'SUCCESS', amount: 500, notificationCount: 0 },
      query: { outcome: 'created', providerState: 'SUCCESS' },
    });

    const unknown = await ops('POST', `/ops/orders/repayment/${newRef()}/reconcile`);
    expect(unknown.json()).toEqual({ order: null, query: { outcome: 'not_found', providerState: null } });
  });

  it('answers 502 when the provider cannot be trusted, and 409 for static-QR orders', async () => {
    const ref = newRef();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS' });
    fake.signWith(stranger.privateKey);
    const untrusted = await ops('POST', `/ops/orders/repayment/${ref}/reconcile`);
    expect(untrusted.statusCode).toBe(502);
    expect(untrusted.json()).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(await order('repayment', ref)).toBeUndefined();

    const before = fake.requests.length;
    const staticQr = await ops('POST', `/ops/orders/static-qr/${newRef()}/reconcile`);
    expect(staticQr.statusCode).toBe(409);
    expect(staticQr.json()).toMatchObject({ code: 'NOT_QUERYABLE' });
    expect(fake.requests.length).toBe(before);
  });

  it('never schedules static-QR orders', async () => {
    const ref = newRef();
    await notify('static-qr', { originalMsgId: ref, trxState: 'PROCESSING' });
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM provider_queries WHERE order_ref = $1', [ref]);
    expect(rows[0]).toEqual({ n: 0 });
  });
});

describe('reconciliation across replicas', () => {
  let second: TestApp;
  beforeAll(async () => {
    second = await startService({ DATABASE_URL: t.database.url });
  });
  afterEach(async () => {
    await t.db.pool.query("UPDATE provider_queries SET due_at = now() + interval '1 hour'");
  });
  afterAll(async () => {
    await second.close();
  });

  it('asks about each order once per slot when two replicas run at once', async () => {
    const refs = Array.from({ length: 12 }, () => newRef());
    for (const ref of refs) {
      await notify('repayment', { originalMsgId: ref, trxState: 'PROCESSING' });
      fake.setOrder('repayment', ref, { trxState: 'PROCESSING' });
      await dueNow('repayment', ref);
    }
    await Promise.all([1, 2, 3, 4].flatMap(() => [t.reconciler.runDue(), second.reconciler.runDue()]));
    for (const ref of refs) expect(queriesFor(ref)).toHaveLength(1);
    const { rows } = await t.db.pool.query('SELECT query_slot FROM orders WHERE order_ref = ANY($1)', [refs]);
    expect(rows.map((row: { query_slot: number }) => row.query_slot)).toEqual(refs.map(() => 1));
  });
});

describe('orders pending before reconciliation existed', () => {
  it('enter the schedule spread over the first slot', async () => {
    const ref = newRef();
    await notify('repayment', { originalMsgId: ref, trxState: 'PROCESSING' });
    await t.db.pool.query('DELETE FROM provider_queries WHERE order_ref = $1', [ref]);
    const spreadApp = await startService({ DATABASE_URL: t.database.url, RECONCILE_SCHEDULE: '1h' });
    try {
      await spreadApp.reconciler.runDue();
      const { rows } = await t.db.pool.query(
        `SELECT due_at > now() AND due_at <= now() + interval '1 hour' AS within FROM provider_queries WHERE order_ref = $1`,
        [ref],
      );
      expect(rows[0]).toEqual({ within: true });
    } finally {
      await spreadApp.close();
    }
  });
});
