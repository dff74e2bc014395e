import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderState, Transition } from '../../src/domain/order-state.js';
import type { Notification, StateReport } from '../../src/domain/provider.js';
import { ingestNotification } from '../../src/store/ingest.js';
import { recordQueryAnswer } from '../../src/store/queries.js';
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
  const { rows } = await t.db.pool.query('SELECT e.body FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1 ORDER BY e.id', [orderRef]);
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

  it('cannot be reached by a Starpay notification for REFUNDED: Starpay has no such state', async () => {
    const ref = newRef();
    await notify(ref, 'REFUNDED');
    expect(await order(ref)).toMatchObject({ state: 'PENDING', raw_state: 'REFUNDED' });
  });

  it('when different notifications of one order race, exactly one final state wins and one event per change is written', async () => {
    const ref = newRef();
    const bodies = ['SUCCESS', 'FAILED', 'PROCESSING', 'SUCCESS'].map((state) =>
      signedBody(requestFields({ originalMsgId: ref, trxState: state }), t.starpay.privateKey),
    );
    const responses = await Promise.all(bodies.map((payload) => t.app.inject({ method: 'POST', url: '/notify/starpay/disbursement', payload })));
    expect(responses.map((r) => r.body)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    const stored = await order(ref);
    expect(stored.notification_count).toBe(4);
    const written = await events(ref);
    expect(written.at(-1).state).toBe(stored.state);
    expect(written.filter((e) => e.state !== 'PENDING')).toHaveLength(1);
    expect(stored.conflict).toBe(true);
  });
});

/** The transition table, row by row: order now (null: none), incoming state, result. */
const TABLE: [OrderState | null, OrderState, Transition][] = [
  [null, 'PENDING', 'created'],
  [null, 'SUCCESS', 'created'],
  [null, 'FAILED', 'created'],
  [null, 'REFUNDED', 'created'],
  ['PENDING', 'SUCCESS', 'changed'],
  ['PENDING', 'FAILED', 'changed'],
  ['PENDING', 'REFUNDED', 'changed'],
  ['SUCCESS', 'REFUNDED', 'changed'],
  ['PENDING', 'PENDING', 'unchanged'],
  ['SUCCESS', 'SUCCESS', 'unchanged'],
  ['FAILED', 'FAILED', 'unchanged'],
  ['REFUNDED', 'REFUNDED', 'unchanged'],
  ['SUCCESS', 'PENDING', 'unchanged'],
  ['FAILED', 'PENDING', 'unchanged'],
  ['REFUNDED', 'PENDING', 'unchanged'],
  ['REFUNDED', 'SUCCESS', 'unchanged'],
  ['SUCCESS', 'FAILED', 'conflict'],
  ['FAILED', 'SUCCESS', 'conflict'],
  ['FAILED', 'REFUNDED', 'conflict'],
  ['REFUNDED', 'FAILED', 'conflict'],
];

const TARGETS = { destinations: [], firstQueryAfterMs: null };

function report(orderRef: string, state: OrderState): StateReport {
  return {
    provider: 'starpago',
    kind: 'payin',
    orderRef,
    rawState: `raw-${state}`,
    state,
    amount: 1000,
    paidAmount: null,
    currency: 'PHP',
    trxDate: null,
    errorCode: null,
    errorMessage: null,
  };
}

/** A notification as a provider would have read it (accepted), straight into the store. */
function byNotification(orderRef: string, state: OrderState, n: number) {
  const notification: Notification = {
    ...report(orderRef, state),
    msgId: null,
    dedupKey: `test:${n}`,
    status: 'accepted',
    request: { state },
    signedText: null,
    signature: null,
  };
  return ingestNotification(t.db.pool, notification, TARGETS);
}

/** A provider's answer to a query, with no notification at all. */
function byQuery(orderRef: string, state: OrderState, n: number) {
  return recordQueryAnswer(t.db.pool, { report: report(orderRef, state), msgId: null, providerUpdateTime: String(n), response: { state } }, TARGETS);
}

describe.each([
  ['a notification', byNotification],
  ['a query answer', byQuery],
])('the transition table, applied by %s', (_source, apply) => {
  it.each(TABLE)('order %s, incoming %s: %s', async (current, incoming, expected) => {
    const ref = newRef();
    if (current !== null) expect((await apply(ref, current, 1)).outcome).toBe('created');
    const result = await apply(ref, incoming, 2);
    expect(result.outcome).toBe(expected);
    const stored = await order(ref);
    expect(stored.state).toBe(expected === 'created' || expected === 'changed' ? incoming : current);
    expect(stored.conflict).toBe(expected === 'conflict');
    const written = await events(ref);
    expect(written).toHaveLength((current === null ? 0 : 1) + (expected === 'created' || expected === 'changed' ? 1 : 0));
    expect(result.eventId === null).toBe(!(expected === 'created' || expected === 'changed'));
    if (expected === 'changed') expect(written.at(-1)).toMatchObject({ state: incoming, previousState: current });
  });
});
