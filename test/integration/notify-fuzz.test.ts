import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signText, signedEnvelope } from '../../src/simulator/starpay-envelope.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields } from '../helpers/starpay.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const KINDS = ['disbursement', 'repayment', 'static-qr'] as const;
const REFUSALS = [400, 401, 403, 413];

async function send(kind: string, body: Buffer | string) {
  const response = await t.app.inject({ method: 'POST', url: `/notify/starpay/${kind}`, headers: { 'content-type': 'application/json' }, payload: body });
  return { status: response.statusCode, body: response.body };
}

/** A signed body and the exact request text its signature covers. */
function validNotification() {
  const requestText = JSON.stringify(requestFields({ trxAmount: 10000 }));
  return { requestText, body: signedEnvelope(requestText, t.starpay.privateKey) };
}

const hostileValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    '__proto__',
    { __proto__: { polluted: true } },
    JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
    { constructor: { prototype: { polluted: true } } },
    1e308,
    -0,
    '9'.repeat(400),
    null,
  ),
);

describe('the notify endpoints under hostile input', () => {
  it('never answer SUCCESS to a mutated body unless the signed request text survived intact, and never fail with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KINDS),
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        ),
        async (kind, mutation) => {
          const { requestText, body } = validNotification();
          const bytes = Buffer.from(body, 'utf8');
          const at = mutation.at % bytes.length;
          const mutated = mutation.kind === 'truncate' ? bytes.subarray(0, at) : Buffer.from(bytes).fill(mutation.byte, at, at + 1);
          const reply = await send(kind, mutated);
          if (reply.status === 200) {
            expect(reply.body).toBe('SUCCESS');
            expect(mutated.includes(Buffer.from(requestText, 'utf8'))).toBe(true);
          } else {
            expect(REFUSALS).toContain(reply.status);
            expect(reply.body).not.toContain('SUCCESS');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuse arbitrary envelopes (wrong types, huge numbers, prototype keys) without SUCCESS or a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KINDS),
        fc.record({ request: hostileValue, signature: fc.oneof(fc.base64String(), hostileValue) }, { requiredKeys: [] }),
        fc.boolean(),
        async (kind, candidate, asArray) => {
          const text = JSON.stringify(asArray ? [candidate] : candidate);
          const reply = await send(kind, text);
          expect(REFUSALS).toContain(reply.status);
          expect(reply.body).not.toContain('SUCCESS');
        },
      ),
      { numRuns: 300 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuse deep nesting, huge numbers and prototype keys inside a request, even with a valid signature over them', async () => {
    const depth = 20_000;
    const bodies = [
      `{"request":${'['.repeat(depth)}${']'.repeat(depth)},"signature":"x"}`,
      `{"request":{"a":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}},"signature":"x"}`,
      '['.repeat(60_000),
    ];
    for (const body of bodies) {
      const reply = await send('repayment', body);
      expect(REFUSALS).toContain(reply.status);
    }
    for (const requestText of [
      '{"originalMsgId":"p1","trxState":"SUCCESS","__proto__":{"polluted":true}}',
      '{"originalMsgId":"p2","trxState":"SUCCESS","constructor":{"prototype":{"polluted":true}}}',
    ]) {
      const reply = await send('repayment', signedEnvelope(requestText, t.starpay.privateKey));
      expect(reply.status).toBe(400);
    }
    const huge = `{"originalMsgId":"huge-${Date.now()}","trxState":"SUCCESS","trxAmount":${'9'.repeat(400)}}`;
    expect(await send('repayment', signedEnvelope(huge, t.starpay.privateKey))).toEqual({ status: 200, body: 'SUCCESS' });
    const { rows } = await t.db.pool.query('SELECT amount FROM orders WHERE order_ref LIKE $1', ['huge-%']);
    expect(rows).toEqual([{ amount: null }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuse a signature over other bytes than the request, whatever the key order', async () => {
    const requestText = '{"originalMsgId":"k1","trxState":"SUCCESS"}';
    const body = `{"request":{"trxState":"SUCCESS","originalMsgId":"k1"},"signature":"${signText(requestText, t.starpay.privateKey)}"}`;
    expect((await send('repayment', body)).status).toBe(401);
  });
});
