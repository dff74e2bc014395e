import { createSign, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';
import { merOrderNo, notificationsOf, orderDetail, postStarpago, signedV2, v2Fields, v3Fields, startStarpagoApi, starpagoEnv } from '../helpers/starpago.js';

/** Every log line the app writes, parsed. */
const logLines: Record<string, unknown>[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let fake: FakeStarpago;
let t: TestApp;

beforeAll(async () => {
  fake = await startStarpagoApi();
  t = await startTestApp(starpagoEnv(fake.url), { logger: createLogger('debug', logSink) });
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

function postStarpay(kind: string, payload: string) {
  return t.app.inject({ method: 'POST', url: `/notify/starpay/${kind}`, headers: { 'content-type': 'application/json' }, payload });
}

function postRaw(path: string, payload: string) {
  return t.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload });
}

function nested(depth: number, inner = '{}'): string {
  return '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

async function register(kind: string, orderRef: string, amount: number, currency: string) {
  const response = await t.app.inject({ method: 'PUT', url: `/ops/orders/${kind}/${orderRef}`, headers: auth, payload: { amount, currency } });
  expect(response.statusCode).toBe(201);
}

async function rejectedRecords(orderRef: string) {
  const { rows } = await t.db.pool.query<{ reason: string; body: string | null; request: unknown }>(
    `SELECT reason, body, request FROM notifications WHERE status = 'rejected' AND order_ref = $1`,
    [orderRef],
  );
  return rows;
}

describe('bounded work per request', () => {
  it('refuses JSON nested deeper than 32 levels with 400 INVALID_ENVELOPE before any signature work, on every route', async () => {
    const deep = `{"request":${nested(40)},"signature":"x"}`;
    for (const path of ['/notify/starpay/repayment', '/notify/starpago/payin']) {
      const response = await postRaw(path, deep);
      expect(response.statusCode, path).toBe(400);
      expect(response.json()).toMatchObject({ code: 'INVALID_ENVELOPE' });
    }
  });

  it('takes JSON nested exactly 32 levels to the signature check, and refuses 33', async () => {
    // envelope (1) + request (1) + 30 more
    const at32 = `{"request":{"originalMsgId":"D32","trxState":"SUCCESS","x":${nested(29)}},"signature":"AAAA"}`;
    const at33 = `{"request":{"originalMsgId":"D33","trxState":"SUCCESS","x":${nested(30)}},"signature":"AAAA"}`;
    expect((await postRaw('/notify/starpay/repayment', at32)).json()).toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect((await postRaw('/notify/starpay/repayment', at33)).json()).toMatchObject({ code: 'INVALID_ENVELOPE' });
  });

  it('takes a StarPago body with objects nested three levels deep and refuses a fourth', async () => {
    const ok = v2Fields({ extra: { a: { b: { c: 'x' } } } });
    expect((await postStarpago(t.app, 'payin', signedV2(ok))).body).toBe('SUCCESS');
    const tooDeep = v2Fields({ extra: { a: { b: { c: {} } } } });
    const response = await postStarpago(t.app, 'payin', signedV2(tooDeep));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_ENVELOPE' });
  });

  it('answers a 250-byte StarPago body nested 30 levels at once, with a garbage sign, while /healthz keeps answering', async () => {
    const body = `{"sign":"${'0'.repeat(64)}","merOrderNo":"X","x":${nested(30, '{"b":{}}')}}`;
    expect(body.length).toBeLessThan(300);
    const started = Date.now();
    const [response, health] = await Promise.all([postRaw('/notify/starpago/payin', body), t.app.inject({ url: '/healthz' })]);
    expect(response.statusCode).toBe(400);
    expect(health.statusCode).toBe(200);
    // The exponential rendering took hours at this depth; anything bounded answers in far under this.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('typed money fields', () => {
  it.each([
    ['an object', {}],
    ['an array', [100]],
    ['a boolean', true],
    ['a non-numeric string', '5&updateTime=1'],
  ])('refuses a signed Starpay trxAmount that is %s with 400 INVALID_FIELD', async (_what, trxAmount) => {
    const fields = requestFields({ trxAmount });
    const response = await postStarpay('repayment', signedBody(fields, t.starpay.privateKey));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_FIELD' });
    expect(await orderDetail(t.app, 'repayment', fields.originalMsgId as string)).toBeNull();
  });

  it('refuses a signed v2 callback whose added empty paidAmount object would hide the realAmount', async () => {
    const fields = v2Fields({ realAmount: 5 });
    const genuine = signedV2(fields);
    const response = await postStarpago(t.app, 'payin', { ...genuine, paidAmount: {} });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_FIELD' });
    expect(await orderDetail(t.app, 'payin', fields.merOrderNo as string)).toBeNull();
  });

  it.each(['amount', 'paidAmount', 'realAmount'])('refuses an unsigned v3 hint whose %s is an array', async (field) => {
    const fields = v3Fields({ [field]: ['250.00'] });
    const response = await postStarpago(t.app, 'payin', fields);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_FIELD' });
  });

  it('takes a v2 callback whose free text holds "&amount=" while amount itself is there: nothing is hidden', async () => {
    const fields = v2Fields({ attach: '?id=1&amount=5', extra: { a: 1, currency: 'PHP' } });
    expect((await postStarpago(t.app, 'payin', signedV2(fields))).body).toBe('SUCCESS');
  });

  it('refuses a v2 callback in which a known field was merged into another value of the string to sign', async () => {
    const fields = v2Fields({ payMethod: 'GCASH', realAmount: 5 });
    const genuine = signedV2(fields);
    // "payMethod=GCASH&realAmount=5" signs the same as the genuine fields, without realAmount.
    const { realAmount: _dropped, ...rest } = genuine;
    const merged = { ...rest, payMethod: 'GCASH&realAmount=5' };
    const response = await postStarpago(t.app, 'payin', merged);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_FIELD' });
  });

  it.each([
    ['"100.9999999999999999"', null],
    ['100.9999999999999999', null],
    ['"-500"', null],
    ['-500', null],
    ['"12.50"', null],
    ['"10000.00"', 10000],
    ['10000.00', 10000],
  ])('stores a Starpay trxAmount of %s as %s, reading its decimal text, never a float', async (text, stored) => {
    const fields = requestFields();
    const json = JSON.stringify(fields).replace('"trxAmount":10000', `"trxAmount":${text}`);
    const response = await postStarpay('repayment', signedBodyText(json));
    expect(response.body).toBe('SUCCESS');
    const detail = await orderDetail(t.app, 'repayment', fields.originalMsgId as string);
    expect(detail?.order.amount).toBe(stored);
  });
});

/** A Starpay envelope around exactly this request text, signed by the app's trusted key. */
function signedBodyText(requestText: string): string {
  const signature = createSign('RSA-SHA256').update(requestText, 'utf8').sign(t.starpay.privateKey, 'base64');
  return `{"request":${requestText},"signature":"${signature}"}`;
}

describe('order references', () => {
  const bad = ['VICTIM&orderStatus=2', 'a b', 'a/b', 'a%41', 'a=b', 'ñ', 'x'.repeat(129), 'tab\there', ''];

  it.each(bad)('refuses a Starpay originalMsgId %j with 400 INVALID_FIELD and records it as rejected', async (orderRef) => {
    const fields = requestFields({ originalMsgId: orderRef });
    const response = await postStarpay('repayment', signedBody(fields, t.starpay.privateKey));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: orderRef === '' ? expect.stringMatching(/INVALID_FIELD|MISSING_FIELD/) : 'INVALID_FIELD' });
  });

  it('records a refused reference as a rejected request', async () => {
    const orderRef = `REF&orderStatus=2-${Date.now()}`;
    await postStarpay('repayment', signedBody(requestFields({ originalMsgId: orderRef }), t.starpay.privateKey));
    const records = await rejectedRecords(orderRef);
    expect(records.map((r) => r.reason)).toEqual(['INVALID_FIELD']);
  });

  it.each(bad.filter((ref) => ref !== ''))('refuses a StarPago merOrderNo %j, signed (v2) or not (v3)', async (orderRef) => {
    for (const body of [signedV2(v2Fields({ merOrderNo: orderRef })), v3Fields({ merOrderNo: orderRef })]) {
      const response = await postStarpago(t.app, 'payin', body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'INVALID_FIELD' });
    }
  });

  it('takes references of 128 characters from the allowed alphabet', async () => {
    const orderRef = `A-z_0.9:${'x'.repeat(120)}`;
    expect(orderRef).toHaveLength(128);
    expect((await postStarpay('repayment', signedBody(requestFields({ originalMsgId: orderRef }), t.starpay.privateKey))).body).toBe('SUCCESS');
    expect((await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef })))).body).toBe('SUCCESS');
  });

  it.each([
    ['GET', '/ops/orders/payin/VICTIM%26orderStatus%3D2'],
    ['PUT', '/ops/orders/payin/a%20b'],
    ['POST', '/ops/orders/payin/a%2Fb/reconcile'],
  ] as const)('refuses %s %s with 400 naming orderRef, and never asks the provider', async (method, url) => {
    const before = fake.queries.length;
    const response = await t.app.inject({ method, url, headers: auth, ...(method === 'PUT' ? { payload: { amount: 1, currency: 'PHP' } } : {}) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_PARAMETER', message: expect.stringContaining('orderRef') });
    expect(fake.queries.length).toBe(before);
  });
});

describe('amounts that cannot be checked', () => {
  it('mark a registered order whose SUCCESS report carries no readable amount', async () => {
    const orderRef = merOrderNo('NOAMT');
    await register('payin', orderRef, 1000, 'PHP');
    const { amount: _a, ...fields } = v2Fields({ merOrderNo: orderRef });
    expect((await postStarpago(t.app, 'payin', signedV2(fields))).body).toBe('SUCCESS');
    const detail = await orderDetail(t.app, 'payin', orderRef);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', amountMismatch: true });
  });

  it('mark a registered order reported in another currency, and keep the registered currency', async () => {
    const orderRef = merOrderNo('CUR');
    await register('payin', orderRef, 1000, 'PHP');
    expect((await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef, currency: 'USD' })))).body).toBe('SUCCESS');
    const detail = await orderDetail(t.app, 'payin', orderRef);
    expect(detail?.order).toMatchObject({ state: 'SUCCESS', amountMismatch: true, currency: 'PHP' });
  });

  it('mark a registered order whose paid amount is given but unreadable: the requested amount does not stand in for it', async () => {
    for (const paidAmount of ['9.999', 9.999, '-10']) {
      const orderRef = merOrderNo('UNREAD');
      await register('payin', orderRef, 1000, 'PHP');
      expect((await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef, amount: 10, paidAmount })))).body).toBe('SUCCESS');
      expect((await orderDetail(t.app, 'payin', orderRef))?.order, String(paidAmount)).toMatchObject({
        state: 'SUCCESS',
        amountMismatch: true,
        paidAmount: null,
      });
    }
  });

  it('mark a registered SUCCESS order that any later report gives another readable amount', async () => {
    const orderRef = merOrderNo('LATE');
    await register('payin', orderRef, 1000, 'PHP');
    expect((await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef, amount: 10 })))).body).toBe('SUCCESS');
    expect((await orderDetail(t.app, 'payin', orderRef))?.order.amountMismatch).toBe(false);
    expect((await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef, amount: 5, orderStatus: 1 })))).body).toBe('SUCCESS');
    expect((await orderDetail(t.app, 'payin', orderRef))?.order).toMatchObject({ state: 'SUCCESS', amountMismatch: true });
  });

  it('keep the settled amount and paid amount when a REFUNDED report follows', async () => {
    const orderRef = merOrderNo('REF');
    await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef, amount: 10, realAmount: 10 })));
    // v2 has no refund status; the query path carries it: register nothing, apply through the fake.
    fake.setOrder('payin', orderRef, { status: 'REFUNDED', amount: '0', paidAmount: '0', currency: 'PHP', updateTime: 1700000099999 });
    const asked = await t.app.inject({ method: 'POST', url: `/ops/orders/payin/${orderRef}/reconcile`, headers: auth });
    expect(asked.statusCode).toBe(200);
    const detail = await orderDetail(t.app, 'payin', orderRef);
    expect(detail?.order).toMatchObject({ state: 'REFUNDED', amount: 1000, paidAmount: 1000 });
  });
});

describe('an authentic notification with an oversized message id', () => {
  it('is stored, and its resend is a duplicate, instead of failing every resend with a 503', async () => {
    const msgId = randomBytes(3_000).toString('hex');
    const fields = requestFields({ msgId });
    const body = signedBody(fields, t.starpay.privateKey);
    expect((await postStarpay('repayment', body)).body).toBe('SUCCESS');
    expect((await postStarpay('repayment', body)).body).toBe('SUCCESS');
    const detail = await orderDetail(t.app, 'repayment', fields.originalMsgId as string);
    expect(detail?.notifications).toMatchObject([{ msgId, deliveryCount: 2 }]);
  });
});

describe('bounded forensics', () => {
  it('stores a refused request with at most 8 KiB of body and parsed request together', async () => {
    const orderRef = merOrderNo('BIG');
    const fields = { ...v2Fields({ merOrderNo: orderRef }), sign: 'f'.repeat(64), filler: 'z'.repeat(60_000) };
    expect((await postStarpago(t.app, 'payin', fields)).statusCode).toBe(401);
    const [record] = await rejectedRecords(orderRef);
    expect(record).toBeDefined();
    const bytes = Buffer.byteLength(record?.body ?? '') + (record?.request == null ? 0 : Buffer.byteLength(JSON.stringify(record.request)));
    expect(bytes).toBeLessThanOrEqual(8 * 1024);
  });

  it('cuts log fields taken from a request to 200 characters', async () => {
    logLines.length = 0;
    const longName = 'k'.repeat(5_000);
    const fields = { ...v2Fields(), [longName]: '', sign: 'f'.repeat(64), merOrderNo: 'M'.repeat(120) };
    expect((await postStarpago(t.app, 'payin', fields)).statusCode).toBe(401);
    expect(logLines.length).toBeGreaterThan(0);
    const longest = Math.max(...logLines.flatMap((line) => Object.values(line).flatMap(stringsIn)).map((s) => s.length));
    expect(longest).toBeLessThanOrEqual(200);
  });
});

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return [...Object.keys(value), ...Object.values(value).flatMap(stringsIn)];
  return [];
}

describe('unsigned hints', () => {
  it('are stored once per order and status, whatever their updateTime', async () => {
    const orderRef = merOrderNo('HINT');
    for (let i = 0; i < 5; i += 1) {
      expect((await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef, updateTime: 1700000000000 + i }))).body).toBe('SUCCESS');
    }
    const hints = (await notificationsOf(t.app, orderRef)).filter((n) => n.source === 'notification');
    expect(hints).toHaveLength(1);
    expect(hints[0]?.deliveryCount).toBe(5);
  });

  it("keep at most 8 KiB of a hint's request", async () => {
    const orderRef = merOrderNo('HBIG');
    expect((await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef, attach: 'a'.repeat(50_000) }))).body).toBe('SUCCESS');
    const { rows } = await t.db.pool.query<{ bytes: number }>(`SELECT octet_length(request::text) AS bytes FROM notifications WHERE order_ref = $1`, [
      orderRef,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.bytes).toBeLessThanOrEqual(8 * 1024);
  });

  it('keep at most 8 KiB of a hint whose fields are all escapes', async () => {
    const orderRef = merOrderNo('HESC');
    const escapes = '\u0001'.repeat(1_500);
    const fields = v3Fields({ merOrderNo: orderRef, attach: escapes, payMethod: escapes, message: escapes, orderNo: escapes, currency: escapes });
    expect((await postStarpago(t.app, 'payin', fields)).body).toBe('SUCCESS');
    const { rows } = await t.db.pool.query<{ bytes: number }>(`SELECT octet_length(request::text) AS bytes FROM notifications WHERE order_ref = $1`, [
      orderRef,
    ]);
    expect(rows[0]?.bytes).toBeLessThanOrEqual(8 * 1024);
  });

  it('keep at most 64 bytes of an invented status', async () => {
    const orderRef = merOrderNo('HSTATE');
    expect((await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef, status: 'S'.repeat(30_000) }))).body).toBe('SUCCESS');
    const { rows } = await t.db.pool.query<{ bytes: number }>(`SELECT octet_length(raw_state) AS bytes FROM notifications WHERE order_ref = $1`, [orderRef]);
    expect(rows).toEqual([{ bytes: 64 }]);
  });

  it('make their order due for a query at most once per 10 seconds', async () => {
    const orderRef = merOrderNo('HRATE');
    await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef, status: 'PENDING' }));
    await t.db.pool.query(`UPDATE provider_queries SET answered_at = clock_timestamp(), due_at = now() + interval '1 hour' WHERE order_ref = $1`, [orderRef]);
    await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef, status: 'PAID' }));
    const { rows } = await t.db.pool.query<{ due_in_s: number }>(
      `SELECT extract(epoch FROM due_at - now())::float8 AS due_in_s FROM provider_queries WHERE order_ref = $1`,
      [orderRef],
    );
    expect(rows[0]?.due_in_s).toBeGreaterThan(8);
    expect(rows[0]?.due_in_s).toBeLessThanOrEqual(10.5);
  });
});
