import { describe, expect, it } from 'vitest';
import { NOTIFICATION_KINDS } from '../../src/providers/starpay/notification.js';
import { planOrders } from '../../src/simulator/plan.js';
import { isQueryable, planSimulation, type SimulationPlanOptions } from '../../src/simulator/simulation.js';

const options: SimulationPlanOptions = {
  kinds: NOTIFICATION_KINDS,
  starpagoKinds: ['payin', 'payout'],
  starpagoVersion: 'v2',
  orders: 50,
  seed: 3,
  mchId: '101510000001',
  duplicates: 0.2,
  outOfOrder: 0.2,
  forged: 0.1,
  lose: 0,
  now: new Date('2025-03-01T04:00:00Z'),
};

describe("a simulation's plan", () => {
  it("is exactly Starpay's plan of the same seed when only Starpay is simulated", () => {
    const starpayOnly = { ...options, starpagoKinds: [] };
    expect(planSimulation(starpayOnly)).toEqual(planOrders(starpayOnly));
  });

  it("takes every provider's kinds in turn", () => {
    const orders = planSimulation(options);
    expect(orders.slice(0, 6).map((o) => `${o.provider}/${o.kind}`)).toEqual([
      'starpay/disbursement',
      'starpay/repayment',
      'starpay/static-qr',
      'starpago/payin',
      'starpago/payout',
      'starpay/disbursement',
    ]);
    expect(orders.filter((o) => o.provider === 'starpago')).toHaveLength(20);
    expect(planSimulation({ ...options, kinds: [], starpagoKinds: ['payout'] }).every((o) => o.kind === 'payout')).toBe(true);
  });

  it('loses the final notification of round(share × queryable orders), never a static-QR one, and keeps the truth', () => {
    const all = planSimulation(options);
    const orders = planSimulation({ ...options, lose: 0.3 });
    const queryable = orders.filter(isQueryable);
    expect(queryable).toHaveLength(40);
    const lost = orders.filter((o) => o.lost);
    expect(lost).toHaveLength(12);
    expect(lost.some((o) => o.provider === 'starpay') && lost.some((o) => o.provider === 'starpago')).toBe(true);
    expect(orders.filter((o) => o.kind === 'static-qr').every((o) => !o.lost)).toBe(true);
    for (const [index, order] of orders.entries()) {
      const before = all[index]!;
      expect(order.truth).toEqual(before.truth);
      const roles = (o: typeof order) => (o.notifications as Array<{ role: string }>).map((n) => n.role);
      expect(roles(order)).toEqual(order.lost ? roles(before).filter((r) => r !== 'final') : roles(before));
    }
    expect(planSimulation({ ...options, lose: 0.3 })).toEqual(orders);
    expect(planSimulation({ ...options, lose: 1 }).filter((o) => o.lost)).toHaveLength(40);
  });

  it('gives Starpay orders what the query API answers, and none for static-QR', () => {
    for (const order of planSimulation(options).filter((o) => o.provider === 'starpay')) {
      if (order.kind === 'static-qr') expect(order.truth).toBeNull();
      else expect(order.truth).toMatchObject({ trxAmount: order.amount, currency: 'PHP', trxState: expect.stringMatching(/^(SUCCESS|FAIL|FAILED)$/) });
    }
  });
});
