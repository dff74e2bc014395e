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

const refsOf = (body: { items: { kind: string; orderRef: string }[] }) => body.items.map((order) => `${order.kind}/${order.orderRef}`);

describe("an order's detail", () => {
  it('lists its events oldest first, each with the data its webhook carried', async () => {
    const pending = await notify('disbursement', { trxState: 'PROCESSING', trxAmount: 700 });
    await notify('disbursement', { originalMsgId: pending.originalMsgId, trxState: 'SUCCESS', trxAmount: 700 });

    const { status, body } = await get(`/ops/orders/disbursement/${pending.originalMsgId}`);
    expect(status).toBe(200);
    expect(body.events).toHaveLength(2);
    expect(body.events[0]).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: 'starpay.disbursement.state_changed',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: expect.objectContaining({ kind: 'disbursement', orderRef: pending.originalMsgId, state: 'PENDING', previousState: null }),
    });
    expect(body.events[1].data).toMatchObject({ state: 'SUCCESS', previousState: 'PENDING', rawState: 'SUCCESS', amount: 700 });

    // `data` is exactly what the stored webhook body carries, read back rather than rebuilt.
    const { rows } = await t.db.pool.query<{ public_id: string; body: string }>(
      'SELECT e.public_id, e.body FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1 ORDER BY e.id',
      [pending.originalMsgId],
    );
    expect(body.events.map((event: { id: string; data: unknown }) => [event.id, event.data])).toEqual(
      rows.map((row) => [row.public_id, JSON.parse(row.body).data]),
    );
    // Each delivery names the event it carries.
    expect(body.deliveries.map((delivery: { eventId: string }) => delivery.eventId)).toEqual(rows.map((row) => row.public_id));
  });

  it('gives each delivery its attempts, oldest first, whatever order they were recorded in', async () => {
    const fields = await notify('repayment', { trxState: 'SUCCESS' });
    const { rows } = await t.db.pool.query<{ id: number }>('SELECT d.id FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE o.order_ref = $1', [
      fields.originalMsgId,
    ]);
    const deliveryId = rows[0]?.id;
    // Recorded in a batch: the later attempt got the lower id.
    await t.db.pool.query(
      `INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, status_code, error) VALUES
         ($1, '2026-03-01T10:00:05.000Z', 12, 503, 'HTTP 503'),
         ($1, '2026-03-01T10:00:00.000Z', 10000, NULL, 'TIMEOUT')`,
      [deliveryId],
    );

    const { body } = await get(`/ops/orders/repayment/${fields.originalMsgId}`);
    expect(body.deliveries).toHaveLength(1);
    expect(body.deliveries[0].attemptLog).toEqual([
      { at: '2026-03-01T10:00:00.000Z', durationMs: 10000, statusCode: null, error: 'TIMEOUT' },
      { at: '2026-03-01T10:00:05.000Z', durationMs: 12, statusCode: 503, error: 'HTTP 503' },
    ]);
  });

  it('shows empty events and attempt logs as empty lists, not missing fields', async () => {
    const fields = await notify('static-qr', { trxState: 'PROCESSING' });
    await t.db.pool.query("UPDATE deliveries SET status = 'delivered' WHERE status = 'pending'");
    const { body } = await get(`/ops/orders/static-qr/${fields.originalMsgId}`);
    expect(body.events).toHaveLength(1);
    expect(body.deliveries[0].attemptLog).toEqual([]);
  });
});

describe('GET /ops/orders?orderRef=', () => {
  it('matches a prefix of the reference, combined with the other filters, newest first', async () => {
    const stem = `PFX${Date.now()}`;
    const a = await notify('repayment', { originalMsgId: `${stem}-A`, trxState: 'SUCCESS' });
    const b = await notify('repayment', { originalMsgId: `${stem}-B`, trxState: 'PROCESSING' });
    const c = await notify('disbursement', { originalMsgId: `${stem}-C`, trxState: 'SUCCESS' });
    await notify('repayment', { originalMsgId: `other-${stem}`, trxState: 'SUCCESS' });

    expect(refsOf((await get(`/ops/orders?orderRef=${stem}`)).body)).toEqual([
      `disbursement/${c.originalMsgId}`,
      `repayment/${b.originalMsgId}`,
      `repayment/${a.originalMsgId}`,
    ]);
    expect(refsOf((await get(`/ops/orders?orderRef=${stem}&kind=repayment&state=SUCCESS`)).body)).toEqual([`repayment/${a.originalMsgId}`]);
    // The whole reference is a prefix of itself.
    expect(refsOf((await get(`/ops/orders?orderRef=${encodeURIComponent(b.originalMsgId)}`)).body)).toEqual([`repayment/${b.originalMsgId}`]);
    // A prefix is not a substring search.
    expect((await get(`/ops/orders?orderRef=${stem.slice(1)}`)).body.items).toEqual([]);
  });

  it('pages through the matches with its cursor', async () => {
    const stem = `PAGE${Date.now()}`;
    for (let i = 0; i < 5; i += 1) await notify('repayment', { originalMsgId: `${stem}-${i}` });
    const first = await get(`/ops/orders?orderRef=${stem}&limit=3`);
    expect(first.body.items).toHaveLength(3);
    const second = await get(`/ops/orders?orderRef=${stem}&limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.nextCursor).toBeNull();
    expect([...refsOf(first.body), ...refsOf(second.body)]).toEqual([4, 3, 2, 1, 0].map((i) => `repayment/${stem}-${i}`));
  });

  it('treats %, _ and backslash in the search as the characters themselves', async () => {
    const stem = `W${Date.now()}`;
    const underscore = await notify('repayment', { originalMsgId: `${stem}_2` });
    await notify('repayment', { originalMsgId: `${stem}x2` });
    await notify('repayment', { originalMsgId: `${stem}.3` });

    const search = async (prefix: string) => refsOf((await get(`/ops/orders?orderRef=${encodeURIComponent(prefix)}`)).body);
    expect(await search(`${stem}_`)).toEqual([`repayment/${underscore.originalMsgId}`]);
    // No reference holds % or \ (their alphabet), so a search that treated them as LIKE patterns would find what these cannot.
    expect(await search(`${stem}%`)).toEqual([]);
    expect(await search(`${stem}\\`)).toEqual([]);
    expect(await search(stem)).toHaveLength(3);
  });

  it('refuses an empty search with 400 naming the parameter', async () => {
    const { status, body } = await get('/ops/orders?orderRef=');
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('orderRef');
  });
});

describe('/openapi.json', () => {
  it('describes the order search, the events and the attempt log', async () => {
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    const list = document.paths['/ops/orders'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name)).toContain('orderRef');
    const detail = JSON.stringify(document.paths['/ops/orders/{kind}/{orderRef}'].get.responses['200']);
    for (const field of ['events', 'attemptLog', 'durationMs', 'statusCode']) expect(detail).toContain(field);
  });
});
