import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRUNE_EVERY_MS } from '../../src/jobs/prune-notifications.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { pruneNotifications } from '../../src/store/ingest.js';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { STARPAGO_APP_ID, STARPAGO_APP_SECRET, merOrderNo, notificationsOf, opsGet, postStarpago, signedV2, v2Fields, v3Fields } from '../helpers/starpago.js';

let fake: FakeStarpago;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeStarpago({ appId: STARPAGO_APP_ID, appSecret: STARPAGO_APP_SECRET });
  t = await startTestApp({ STARPAGO_APP_ID, STARPAGO_APP_SECRET, STARPAGO_API_URL: fake.url, RECONCILE_SCHEDULE: '1m' });
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

  it('never count as the last verified notification in the summary', async () => {
    const isolated = await startTestApp({ STARPAGO_APP_ID, STARPAGO_APP_SECRET, STARPAGO_API_URL: fake.url, RECONCILE_SCHEDULE: '1m' });
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
