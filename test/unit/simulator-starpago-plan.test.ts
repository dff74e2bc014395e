import { describe, expect, it } from 'vitest';
import { toMinorUnits } from '../../src/providers/starpago/amount.js';
import { readCallback } from '../../src/providers/starpago/callback.js';
import { v2State, v3State } from '../../src/providers/starpago/states.js';
import { majorText, planStarpagoOrders, type StarpagoPlanOptions } from '../../src/simulator/starpago-plan.js';
import { encodeStarpagoCallback, starpagoBody } from '../../src/simulator/starpago-request.js';

const SECRET = 'app-secret-under-test';
const options: StarpagoPlanOptions = {
  kinds: ['payin', 'payout'],
  orders: 80,
  seed: 11,
  generation: 'v2',
  duplicates: 0.25,
  outOfOrder: 0.1,
  forged: 0.2,
  now: new Date('2025-03-01T04:00:00Z'),
};

const stateOf = (generation: 'v2' | 'v3', fields: Record<string, unknown>) => (generation === 'v2' ? v2State(fields.orderStatus) : v3State(fields.status));

describe("the simulator's StarPago plan", () => {
  it('is the same for the same seed, takes the kinds in turn and applies each share to round(share × orders) orders', () => {
    const orders = planStarpagoOrders(options);
    expect(planStarpagoOrders(options)).toEqual(orders);
    expect(orders.map((o) => o.kind).slice(0, 3)).toEqual(['payin', 'payout', 'payin']);
    expect(new Set(orders.map((o) => o.orderRef)).size).toBe(80);
    const withRole = (role: string) => orders.filter((o) => o.notifications.some((n) => n.role === role)).length;
    expect(withRole('forged')).toBe(16);
    expect(withRole('late')).toBe(8);
    expect(orders.filter((o) => o.notifications.filter((n) => n.role !== 'forged').every((n) => n.copies === 2)).length).toBe(20);
  });

  it.each(['v2', 'v3'] as const)('ends each %s order in its planned state, with interim and late states that are not final', (generation) => {
    for (const order of planStarpagoOrders({ ...options, generation })) {
      expect(order.notifications.map((n) => n.role).join(' ')).toMatch(/^(forged )?(interim )?final( late)?$/);
      for (const n of order.notifications.filter((n) => n.role !== 'forged')) {
        expect(stateOf(generation, n.fields)).toBe(n.role === 'final' ? order.state : 'PENDING');
        expect(n.signed).toBe(generation === 'v2');
        expect(n.fields.merOrderNo).toBe(order.orderRef);
      }
    }
  });

  it('writes amounts in major units of currencies with two decimals and with none, which the service reads back as the planned minor units', () => {
    const orders = [...planStarpagoOrders(options), ...planStarpagoOrders({ ...options, generation: 'v3' })];
    const digits = new Set(orders.map((o) => (o.currency === 'VND' || o.currency === 'KRW' ? 0 : 2)));
    expect(digits).toEqual(new Set([0, 2]));
    for (const order of orders) {
      const final = order.notifications.find((n) => n.role === 'final');
      expect(toMinorUnits(final?.fields.amount, order.currency)).toBe(order.amount);
      expect(typeof final?.fields.amount).toBe(order.generation === 'v2' ? 'number' : 'string');
    }
    expect(orders.some((o) => o.amount % 100 !== 0 && o.currency === 'PHP')).toBe(true);
  });

  it('keeps what StarPago knows as the truth its query answers with, in both versions’ state fields', () => {
    for (const order of planStarpagoOrders({ ...options, generation: 'v3' })) {
      expect(v3State(order.truth.status)).toBe(order.state);
      expect(v2State(order.truth.orderStatus)).toBe(order.state);
      expect(toMinorUnits(order.truth.amount, order.truth.currency)).toBe(order.amount);
      expect(order.truth).not.toHaveProperty('merOrderNo');
    }
  });

  it('forges v2 callbacks as a paid ten times the amount, and v3 hints for an order or a state StarPago does not have', () => {
    for (const order of planStarpagoOrders(options).filter((o) => o.notifications[0]?.role === 'forged')) {
      expect(order.notifications[0]?.fields).toMatchObject({ orderStatus: 2, merOrderNo: order.orderRef });
      expect(toMinorUnits(order.notifications[0]?.fields.amount, order.currency)).toBe(order.amount * 10);
    }
    const v3 = planStarpagoOrders({ ...options, generation: 'v3' }).flatMap((o) => o.notifications.filter((n) => n.role === 'forged').map((n) => ({ o, n })));
    const unknownOrder = v3.filter(({ o, n }) => n.fields.merOrderNo !== o.orderRef);
    const wrongState = v3.filter(({ o, n }) => n.fields.merOrderNo === o.orderRef);
    expect(unknownOrder.length).toBeGreaterThan(0);
    expect(wrongState.length).toBeGreaterThan(0);
    for (const { o, n } of wrongState) expect(v3State(n.fields.status)).toBe(o.state === 'SUCCESS' ? 'FAILED' : 'SUCCESS');
    expect(v3.every(({ n }) => !n.signed)).toBe(true);
  });

  it('spells major units without floating point', () => {
    expect(majorText(1050, 2)).toBe('10.50');
    expect(majorText(7, 2)).toBe('0.07');
    expect(majorText(1350000, 0)).toBe('1350000');
  });
});

describe('StarPago callback bodies', () => {
  const orders = planStarpagoOrders({ ...options, forged: 0.5 });
  const form = orders.flatMap((o) => o.notifications).find((n) => n.form && n.role !== 'forged');

  it('are signed so that the service verifies genuine v2 callbacks, as JSON and as a form', () => {
    const genuine = orders.flatMap((o) => o.notifications.filter((n) => n.role !== 'forged').map((n) => ({ o, n })));
    expect(form).toBeDefined();
    for (const { o, n } of genuine) {
      const { body, contentType } = encodeStarpagoCallback(n, SECRET);
      const read = readCallback(o.kind, Buffer.from(body), contentType, SECRET);
      expect(read.ok && read.notification).toMatchObject({ orderRef: o.orderRef, status: 'accepted' });
    }
  });

  it('carry a sign the service refuses when forged', () => {
    for (const order of orders.filter((o) => o.notifications[0]?.role === 'forged')) {
      const { body, contentType } = encodeStarpagoCallback(order.notifications[0]!, SECRET);
      expect(readCallback(order.kind, Buffer.from(body), contentType, SECRET)).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('are flat JSON objects with sign first, and carry no sign in v3', () => {
    expect(starpagoBody({ merOrderNo: '1', amount: 10.5 }, 'ab')).toEqual({
      body: '{"sign":"ab","merOrderNo":"1","amount":10.5}',
      contentType: 'application/json',
    });
    expect(starpagoBody({ merOrderNo: '1', status: 'PAID' }, null, true)).toEqual({
      body: 'merOrderNo=1&status=PAID',
      contentType: 'application/x-www-form-urlencoded',
    });
    const v3 = planStarpagoOrders({ ...options, generation: 'v3' });
    const hint = encodeStarpagoCallback(v3[0]!.notifications.at(-1)!, SECRET);
    expect(JSON.parse(hint.body)).not.toHaveProperty('sign');
    const read = readCallback(v3[0]!.kind, Buffer.from(hint.body), hint.contentType, SECRET);
    expect(read.ok && read.notification.status).toBe('unverified');
  });
});
