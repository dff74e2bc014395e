import { describe, expect, it } from 'vitest';
import { NOTIFICATION_KINDS, normaliseTrxState } from '../../src/providers/starpay/notification.js';
import { INSTAPAY_ERRORS, planOrders, starpayDate, type PlanOptions } from '../../src/simulator/plan.js';

const options: PlanOptions = {
  kinds: NOTIFICATION_KINDS,
  orders: 60,
  seed: 7,
  mchId: '105510000001',
  duplicates: 0.25,
  outOfOrder: 0.1,
  forged: 0.05,
  now: new Date('2024-11-25T09:49:51Z'),
};

describe("the simulator's plan", () => {
  it('is the same for the same seed and differs for another', () => {
    expect(planOrders(options)).toEqual(planOrders(options));
    expect(planOrders({ ...options, seed: 8 }).map((o) => o.orderRef)).not.toEqual(planOrders(options).map((o) => o.orderRef));
  });

  it('spreads the orders over the kinds in turn, with unique references and msgIds', () => {
    const orders = planOrders(options);
    expect(orders.map((o) => o.kind).slice(0, 4)).toEqual(['disbursement', 'repayment', 'static-qr', 'disbursement']);
    expect(new Set(orders.map((o) => o.orderRef)).size).toBe(60);
    const msgIds = orders.flatMap((o) => o.notifications.map((n) => n.fields.msgId));
    expect(new Set(msgIds).size).toBe(msgIds.length);
    expect(planOrders({ ...options, kinds: ['static-qr'] }).every((o) => o.kind === 'static-qr')).toBe(true);
  });

  it('applies each chaos share to exactly round(share × orders) orders', () => {
    const orders = planOrders(options);
    const withRole = (role: string) => orders.filter((o) => o.notifications.some((n) => n.role === role)).length;
    const genuine = (o: (typeof orders)[number]) => o.notifications.filter((n) => n.role !== 'forged');
    expect(orders.filter((o) => genuine(o).every((n) => n.copies === 2)).length).toBe(15);
    expect(orders.filter((o) => genuine(o).some((n) => n.copies !== 1)).length).toBe(15);
    expect(withRole('late')).toBe(6);
    expect(withRole('forged')).toBe(3);
    const calm = planOrders({ ...options, duplicates: 0, outOfOrder: 0, forged: 0 });
    expect(calm.flatMap((o) => o.notifications).every((n) => n.copies === 1 && (n.role === 'final' || n.role === 'interim'))).toBe(true);
  });

  it("orders each order's notifications: forged first, interim before the final one, late after it", () => {
    for (const order of planOrders(options)) {
      const roles = order.notifications.map((n) => n.role).join(' ');
      expect(roles).toMatch(/^(forged )?(interim )?final( late)?$/);
      const final = order.notifications.find((n) => n.role === 'final');
      expect(normaliseTrxState(String(final?.fields.trxState))).toBe(order.state);
      for (const n of order.notifications.filter((n) => n.role === 'interim' || n.role === 'late')) {
        expect(normaliseTrxState(String(n.fields.trxState))).toBe('PENDING');
      }
      const forged = order.notifications.find((n) => n.role === 'forged');
      if (forged !== undefined) expect(forged.fields).toMatchObject({ trxState: 'SUCCESS', trxAmount: order.amount * 10 });
    }
  });

  it('writes realistic fields: PHP, integer centavos, +08:00 dates, InstaPay reasons on failures', () => {
    const orders = planOrders(options);
    for (const order of orders) {
      for (const { fields } of order.notifications) {
        expect(fields).toMatchObject({ code: '200', message: 'success', mchId: '105510000001', currency: 'PHP', originalMsgId: order.orderRef });
        expect(fields.trxDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
        expect(Number.isSafeInteger(fields.trxAmount)).toBe(true);
      }
      const final = order.notifications.find((n) => n.role === 'final')?.fields;
      if (order.state === 'FAILED') {
        expect(INSTAPAY_ERRORS).toContainEqual({ code: final?.errorCode, message: final?.errorMessage });
      } else {
        expect(final).not.toHaveProperty('errorCode');
      }
    }
    expect(orders.some((o) => o.state === 'FAILED')).toBe(true);
    expect(orders.filter((o) => o.kind === 'static-qr').every((o) => o.state === 'SUCCESS')).toBe(true);
  });

  it('varies the spelling now and then, keeping the plain one most of the time', () => {
    const spellings = planOrders({ ...options, orders: 300 }).flatMap((o) => o.notifications.map((n) => n.spelling));
    const plain = spellings.filter((s) => s.amount === 'number' && !s.escapes && s.envelope === 'object').length;
    expect(plain / spellings.length).toBeGreaterThan(0.2);
    expect(new Set(spellings.map((s) => s.amount)).size).toBe(4);
    expect(new Set(spellings.map((s) => s.envelope)).size).toBe(4);
    expect(spellings.some((s) => s.escapes)).toBe(true);
  });

  it('dates transactions in Philippine time', () => {
    expect(starpayDate(new Date('2024-11-25T09:49:51.123Z'), 0)).toBe('2024-11-25T17:49:51+08:00');
    expect(starpayDate(new Date('2024-11-25T23:00:00Z'), -60)).toBe('2024-11-26T06:59:00+08:00');
  });
});
