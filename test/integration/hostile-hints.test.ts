import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRUNE_EVERY_MS } from '../../src/jobs/prune-notifications.js';
import type { FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { pruneNotifications } from '../../src/store/ingest.js';
import { claimDueQueries } from '../../src/store/queries.js';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { merOrderNo, notificationsOf, opsGet, postStarpago, signedV2, v2Fields, v3Fields, startStarpagoApi, starpagoEnv } from '../helpers/starpago.js';

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

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

async function hint(fields: Record<string, unknown>) {
  const response = await postStarpago(t.app, 'payin', fields);
  expect(response.body).toBe('SUCCESS');
}

/** Lets the throttle and the schedule pass for this order, then runs one reconciliation round. */
async function askNowAbout(orderRef: string) {
  await t.db.pool.query(`UPDATE provider_queries SET due_at = now(), answered_at = NULL WHERE order_ref = $1 AND due_at < 'infinity'`, [orderRef]);
  await t.reconciler.runDue();
}

async function scheduled(orderRef: string) {
  const { rows } = await t.db.pool.query<{ due: boolean }>(`SELECT due_at < 'infinity' AS due FROM provider_queries WHERE order_ref = $1`, [orderRef]);
  return rows[0]?.due ?? false;
}

describe('a hint for an order nobody knows', () => {
  it('is dropped from the schedule after StarPago answers not found three times, until a registration brings it back', async () => {
    const orderRef = merOrderNo('GHOST');
    for (let i = 0; i < 3; i += 1) {
      await hint(v3Fields({ merOrderNo: orderRef, status: 'PAID' }));
      expect(await scheduled(orderRef)).toBe(true);
      await askNowAbout(orderRef);
    }
    const asked = fake.queries.filter((q) => q.merOrderNo === orderRef).length;
    expect(asked).toBe(3);

    await hint(v3Fields({ merOrderNo: orderRef, status: 'PAID' }));
    await hint(v3Fields({ merOrderNo: orderRef, status: 'PENDING' }));
    expect(await scheduled(orderRef)).toBe(false);
    await askNowAbout(orderRef);
    expect(fake.queries.filter((q) => q.merOrderNo === orderRef).length).toBe(asked);

    // Abandoned stays abandoned when its hints are pruned; a row only waiting for a hint goes with them.
    const waiting = merOrderNo('WAIT');
    await hint(v3Fields({ merOrderNo: waiting, status: 'PAID' }));
    await askNowAbout(waiting);
    await t.db.pool.query(`DELETE FROM notifications WHERE order_ref = ANY($1)`, [[orderRef, waiting]]);
    await pruneNotifications(t.db.pool, 10_000);
    const { rows } = await t.db.pool.query<{ order_ref: string; abandoned: boolean }>(
      `SELECT order_ref, abandoned_at IS NOT NULL AS abandoned FROM provider_queries WHERE order_ref = ANY($1)`,
      [[orderRef, waiting]],
    );
    expect(rows).toEqual([{ order_ref: orderRef, abandoned: true }]);

    const registered = await t.app.inject({ method: 'PUT', url: `/ops/orders/payin/${orderRef}`, headers: auth, payload: { amount: 100, currency: 'PHP' } });
    expect(registered.statusCode).toBe(201);
    expect(await scheduled(orderRef)).toBe(true);
  });

  it('is dropped after three try-later answers too', async () => {
    const orderRef = merOrderNo('BUSY');
    fake.setDown(true);
    try {
      for (let i = 0; i < 3; i += 1) {
        await hint(v3Fields({ merOrderNo: orderRef, status: 'PAID' }));
        await askNowAbout(orderRef);
      }
    } finally {
      fake.setDown(false);
    }
    expect(await scheduled(orderRef)).toBe(false);
  });

  it('comes back when a genuine notification names it', async () => {
    const orderRef = merOrderNo('BACK');
    for (let i = 0; i < 3; i += 1) {
      await hint(v3Fields({ merOrderNo: orderRef, status: 'PENDING' }));
      await askNowAbout(orderRef);
    }
    expect(await scheduled(orderRef)).toBe(false);
    const genuine = await postStarpago(t.app, 'payin', signedV2(v2Fields({ merOrderNo: orderRef, orderStatus: 1 })));
    expect(genuine.body).toBe('SUCCESS');
    expect(await scheduled(orderRef)).toBe(true);
  });
});

describe('an order a hint made the provider be asked about', () => {
  it('enters its schedule at its first slot when it is registered after a not-found answer', async () => {
    const orderRef = merOrderNo('EARLY');
    await hint(v3Fields({ merOrderNo: orderRef, status: 'PENDING' }));
    await askNowAbout(orderRef);
    const registered = await t.app.inject({ method: 'PUT', url: `/ops/orders/payin/${orderRef}`, headers: auth, payload: { amount: 100, currency: 'PHP' } });
    expect(registered.statusCode).toBe(201);
    const { rows } = await t.db.pool.query<{ due_in_s: number; unknown_answers: number }>(
      `SELECT extract(epoch FROM due_at - now())::float8 AS due_in_s, unknown_answers FROM provider_queries WHERE order_ref = $1`,
      [orderRef],
    );
    expect(rows[0]?.unknown_answers).toBe(0);
    expect(rows[0]?.due_in_s).toBeGreaterThan(50);
    expect(rows[0]?.due_in_s).toBeLessThanOrEqual(60);
  });

  it('is asked again no sooner than 10 s after the last answer, also once it is final', async () => {
    const orderRef = merOrderNo('FINAL');
    fake.setOrder('payin', orderRef, { status: 'PAID', amount: '250.00', paidAmount: '250.00', currency: 'PHP' });
    await hint(v3Fields({ merOrderNo: orderRef, status: 'PAID' }));
    await askNowAbout(orderRef);
    expect(await scheduled(orderRef)).toBe(false);
    // A hint with a new status for the final order: due again, but only 10 s after that answer.
    await hint(v3Fields({ merOrderNo: orderRef, status: 'REFUNDED' }));
    const { rows } = await t.db.pool.query<{ due_in_s: number }>(
      `SELECT extract(epoch FROM due_at - now())::float8 AS due_in_s FROM provider_queries WHERE order_ref = $1`,
      [orderRef],
    );
    expect(rows[0]?.due_in_s).toBeGreaterThan(8);
    expect(rows[0]?.due_in_s).toBeLessThanOrEqual(10.5);
  });
});

describe('a round of queries', () => {
  it('gives orders only hints name at most half of it, so invented references never hold back known orders', async () => {
    const isolated = await startTestApp(starpagoEnv(fake.url));
    try {
      for (let i = 0; i < 6; i += 1) expect((await postStarpago(isolated.app, 'payin', v3Fields({ merOrderNo: merOrderNo('INVENTED') }))).body).toBe('SUCCESS');
      for (let i = 0; i < 6; i += 1) {
        const known = await postStarpago(isolated.app, 'payin', signedV2(v2Fields({ merOrderNo: merOrderNo('KNOWN'), orderStatus: 1 })));
        expect(known.body).toBe('SUCCESS');
      }
      await isolated.db.pool.query(`UPDATE provider_queries SET due_at = now() - interval '1 second'`);
      const claimed = await claimDueQueries(isolated.db.pool, 4, 60_000, ['payin']);
      expect(claimed.map((q) => q.orderRef.split('-')[0]).sort()).toEqual(['INVENTED', 'INVENTED', 'KNOWN', 'KNOWN']);
      const rest = await claimDueQueries(isolated.db.pool, 4, 60_000, ['payin']);
      expect(rest.filter((q) => q.state !== null)).toHaveLength(2);
    } finally {
      await isolated.close();
    }
  });
});

describe('settled hints', () => {
  it('are pruned like rejected requests, newest kept', async () => {
    const refs = [merOrderNo('P1'), merOrderNo('P2'), merOrderNo('P3')];
    for (const orderRef of refs) {
      fake.setOrder('payin', orderRef, { status: 'PAID', amount: '250.00', paidAmount: '250.00', currency: 'PHP' });
      await hint(v3Fields({ merOrderNo: orderRef }));
      await askNowAbout(orderRef);
      expect((await notificationsOf(t.app, orderRef)).find((n) => n.source === 'notification')?.status).toBe('accepted');
    }
    await pruneNotifications(t.db.pool, 1);
    const left = await Promise.all(refs.map(async (ref) => (await notificationsOf(t.app, ref)).filter((n) => n.source === 'notification').length));
    expect(left).toEqual([0, 0, 1]);
  });

  it('are pruned every minute', () => {
    expect(PRUNE_EVERY_MS).toBe(60_000);
  });

  it('and refused requests older than 30 days are pruned however few there are', async () => {
    const orderRef = merOrderNo('OLD');
    await postStarpago(t.app, 'payin', v3Fields({ merOrderNo: orderRef }));
    await postStarpago(t.app, 'payin', { ...v2Fields({ merOrderNo: orderRef }), sign: 'f'.repeat(64) });
    await t.db.pool.query(`UPDATE notifications SET first_received_at = now() - interval '31 days' WHERE order_ref = $1`, [orderRef]);
    await pruneNotifications(t.db.pool, 10_000);
    const { rows } = await t.db.pool.query(`SELECT 1 FROM notifications WHERE order_ref = $1`, [orderRef]);
    expect(rows).toEqual([]);
  });

  it('never count as the last verified notification in the summary', async () => {
    const isolated = await startTestApp(starpagoEnv(fake.url));
    try {
      const orderRef = merOrderNo('SUM');
      fake.setOrder('payin', orderRef, { status: 'PAID', amount: '250.00', paidAmount: '250.00', currency: 'PHP' });
      expect((await postStarpago(isolated.app, 'payin', v3Fields({ merOrderNo: orderRef }))).body).toBe('SUCCESS');
      await isolated.reconciler.runDue();
      const { body } = await opsGet<{ lastNotificationAt: Record<string, string | null> }>(isolated.app, '/ops/summary');
      expect(body.lastNotificationAt.payin).toBeNull();
      const signed = await postStarpago(isolated.app, 'payin', signedV2(v2Fields()));
      expect(signed.body).toBe('SUCCESS');
      const after = await opsGet<{ lastNotificationAt: Record<string, string | null> }>(isolated.app, '/ops/summary');
      expect(after.body.lastNotificationAt.payin).toEqual(expect.any(String));
    } finally {
      await isolated.close();
    }
  });
});
