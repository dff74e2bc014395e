import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition, type OrderState } from '../../src/domain/order-state.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

async function notify(orderRef: string, trxState: string, extra: Record<string, unknown> = {}) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/notify/starpay/disbursement',
    payload: signedBody(requestFields({ originalMsgId: orderRef, trxState, ...extra }), t.starpay.privateKey),
  });
  expect(response.body).toBe('SUCCESS');
}

async function order(orderRef: string) {
  const { rows } = await t.db.pool.query('SELECT * FROM orders WHERE order_ref = $1', [orderRef]);
  return rows[0];
}

async function events(orderRef: string) {
  const { rows } = await t.db.pool.query(
    'SELECT e.body FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1 ORDER BY e.id',
    [orderRef],
  );
  return rows.map((row) => JSON.parse(row.body as string).data);
}

let sequence = 0;
const newRef = () => `state-${Date.now()}-${++sequence}`;

describe('the order state machine', () => {
  it.each([
    ['SUCCESS', 'SUCCESS'],
    ['FAIL', 'FAILED'],
    ['FAILED', 'FAILED'],
    ['FAILURE', 'FAILED'],
    ['failure', 'PENDING'],
    ['Success', 'PENDING'],
    ['PROCESSING', 'PENDING'],
    ['REVERSED', 'PENDING'],
  ])('normalises trxState %s to %s and keeps the raw value', async (raw, state) => {
    const ref = newRef();
    await notify(ref, raw);
    expect(await order(ref)).toMatchObject({ state, raw_state: raw, conflict: false });
  });

  it('moves PENDING to SUCCESS with an event for each change, in order', async () => {
    const ref = newRef();
    await notify(ref, 'PROCESSING');
    await notify(ref, 'SUCCESS', { trxAmount: 2500 });
    expect(await order(ref)).toMatchObject({ state: 'SUCCESS', raw_state: 'SUCCESS', amount: 2500, notification_count: 2 });
    expect(await events(ref)).toMatchObject([
      { state: 'PENDING', previousState: null, rawState: 'PROCESSING' },
      { state: 'SUCCESS', previousState: 'PENDING', rawState: 'SUCCESS', amount: 2500 },
    ]);
  });

  it('moves PENDING to FAILED keeping the error code and message', async () => {
    const ref = newRef();
    await notify(ref, 'PENDING');
    await notify(ref, 'FAIL', { errorCode: 'AC04', errorMessage: 'Closed Account Number' });
    expect(await order(ref)).toMatchObject({ state: 'FAILED', error_code: 'AC04', error_message: 'Closed Account Number' });
    expect(await events(ref)).toHaveLength(2);
  });

  it('marks a conflict, without an event or a state change, when a final order gets another final state', async () => {
    const ref = newRef();
    await notify(ref, 'SUCCESS');
    await notify(ref, 'FAILED');
    expect(await order(ref)).toMatchObject({ state: 'SUCCESS', conflict: true, notification_count: 2 });
    expect(await events(ref)).toHaveLength(1);
  });

  it('ignores a late non-final notification that arrives after the final one', async () => {
    const ref = newRef();
    await notify(ref, 'FAILED');
    await notify(ref, 'PROCESSING');
    expect(await order(ref)).toMatchObject({ state: 'FAILED', conflict: false });
    expect(await events(ref)).toHaveLength(1);
  });

  it('emits no event for a second, different notification with the same state', async () => {
    const ref = newRef();
    await notify(ref, 'SUCCESS');
    await notify(ref, 'SUCCESS');
    expect(await order(ref)).toMatchObject({ state: 'SUCCESS', conflict: false, notification_count: 2 });
    expect(await events(ref)).toHaveLength(1);
  });

  it('agrees with the reference state machine for every pair of states', async () => {
    const raw: Record<OrderState, string> = { PENDING: 'PROCESSING', SUCCESS: 'SUCCESS', FAILED: 'FAIL' };
    const states = Object.keys(raw) as OrderState[];
    for (const first of states) {
      for (const second of states) {
        const ref = newRef();
        await notify(ref, raw[first]);
        await notify(ref, raw[second]);
        const expected = transition(first, second);
        const stored = await order(ref);
        expect(stored.state).toBe(expected === 'changed' ? second : first);
        expect(stored.conflict).toBe(expected === 'conflict');
        expect(await events(ref)).toHaveLength(expected === 'changed' ? 2 : 1);
      }
    }
  });

  it('when different notifications of one order race, exactly one final state wins and one event per change is written', async () => {
    const ref = newRef();
    const bodies = ['SUCCESS', 'FAILED', 'PROCESSING', 'SUCCESS'].map((state) =>
      signedBody(requestFields({ originalMsgId: ref, trxState: state }), t.starpay.privateKey),
    );
    const responses = await Promise.all(
      bodies.map((payload) => t.app.inject({ method: 'POST', url: '/notify/starpay/disbursement', payload })),
    );
    expect(responses.map((r) => r.body)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    const stored = await order(ref);
    expect(stored.notification_count).toBe(4);
    const written = await events(ref);
    expect(written.at(-1).state).toBe(stored.state);
    expect(written.filter((e) => e.state !== 'PENDING')).toHaveLength(1);
    expect(stored.conflict).toBe(true);
  });
});
