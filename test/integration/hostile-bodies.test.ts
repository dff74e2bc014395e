import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startStarpagoApi, starpagoEnv } from '../helpers/starpago.js';

let fake: FakeStarpago;
let t: TestApp;

beforeAll(async () => {
  fake = await startStarpagoApi();
  t = await startTestApp(starpagoEnv(fake.url));
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const ROUTES = ['/notify/starpay/disbursement', '/notify/starpay/repayment', '/notify/starpay/static-qr', '/notify/starpago/payin', '/notify/starpago/payout'];
const BODY_LIMIT = 65_536;
/** Far above a few milliseconds of work, far below what unbounded work took (hours for 250 bytes). */
const ANSWER_WITHIN_MS = 2_000;

/** Objects and arrays nested to a given depth around a leaf, in JSON text. */
const deep = fc
  .record({
    depth: fc.integer({ min: 1, max: 60 }),
    kinds: fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
    leaf: fc.constantFrom('{}', '[]', '""', '1', '{"b":{}}'),
  })
  .map(({ depth, kinds, leaf }) => {
    let text: string = leaf;
    for (let i = 0; i < depth; i += 1) text = kinds[i] === true ? `{"k${i}":${text},"e":{}}` : `[${text},{}]`;
    return text;
  });

const wide = fc
  .record({ keys: fc.integer({ min: 1, max: 3_000 }), value: fc.constantFrom('""', '{}', '1', 'null', '{"a":{}}') })
  .map(({ keys, value }) => `{${Array.from({ length: keys }, (_, i) => `"f${i}":${value}`).join(',')}}`);

const hugeKey = fc.integer({ min: 100, max: 60_000 }).map((length) => `{"${'k'.repeat(length)}":"",${'"sign":"' + 'a'.repeat(64) + '"'}}`);

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom({}, [], true, false, null, '', '5&updateTime=1', 'VICTIM&orderStatus=2', '\u0000', '\ud800', '1e400', '-1', '0.0000001', '9'.repeat(300)),
);

/** Fields a provider reads, given odd values, inside each provider's shape. */
const oddFields = fc
  .record(
    {
      originalMsgId: oddValue,
      trxState: oddValue,
      trxAmount: oddValue,
      merOrderNo: oddValue,
      status: oddValue,
      orderStatus: oddValue,
      amount: oddValue,
      paidAmount: oddValue,
      realAmount: oddValue,
      currency: oddValue,
      updateTime: oddValue,
      sign: fc.oneof(oddValue, fc.stringMatching(/^[0-9a-f]{64}$/)),
    },
    { requiredKeys: [] },
  )
  .chain((fields) =>
    fc.constantFrom(
      JSON.stringify(fields),
      JSON.stringify({ request: fields, signature: 'AAAA' }),
      JSON.stringify([{ request: JSON.stringify(fields), signature: 'x' }]),
    ),
  );

const structured = fc.oneof(deep, wide, hugeKey, oddFields).map((text) => Buffer.from(text, 'utf8'));

/** Bytes no provider sends: invalid UTF-8, BOMs, UTF-16, form bodies with separators. */
const oddEncoding = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
  oddFields.map((text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])),
  oddFields.map((text) => Buffer.from(text, 'utf16le')),
  fc.string({ maxLength: 500 }).map((text) => Buffer.from(`merOrderNo=${text}&status=PAID&sign=&amount=${text}&merOrderNo=x`, 'utf8')),
);

describe('hostile bodies on every /notify route', () => {
  it('are each answered within a bounded time while /healthz keeps answering, and none moves an order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(structured, oddEncoding),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', undefined),
        async (route, body, contentType) => {
          fc.pre(body.length <= BODY_LIMIT);
          const started = Date.now();
          const [reply, health] = await Promise.all([
            t.app.inject({ method: 'POST', url: route, payload: body, headers: contentType === undefined ? {} : { 'content-type': contentType } }),
            t.app.inject({ url: '/healthz' }),
          ]);
          expect(Date.now() - started).toBeLessThan(ANSWER_WITHIN_MS);
          expect(health.statusCode).toBe(200);
          expect(reply.statusCode).toBeLessThan(500);
          if (reply.statusCode === 200) {
            // Only an unsigned StarPago hint is acknowledged without a signature: it moves nothing.
            expect(route.startsWith('/notify/starpago/')).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
    // Whatever was acknowledged, only a signature or a query answer may move an order.
    await t.reconciler.runDue();
    const { rows } = await t.db.pool.query<{ orders: number; events: number }>(
      'SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM events) AS events',
    );
    expect(rows[0]).toEqual({ orders: 0, events: 0 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 300_000);
});
