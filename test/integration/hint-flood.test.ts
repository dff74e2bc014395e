import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V3_STATUSES } from '../../src/providers/starpago/states.js';
import type { FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { postStarpago, v3Fields, startStarpagoApi, starpagoEnv } from '../helpers/starpago.js';

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

const HINTS = 10_000;
const ORDERS = 100;
const QUERY_INTERVAL_MS = 10_000;

describe('a flood of unsigned StarPago hints', () => {
  it(`of ${HINTS} hints for ${ORDERS} references leaves at most one row per order and status, and at most one query per order per 10 s`, async () => {
    const run = `FLOOD-${Date.now()}`;
    const refs = Array.from({ length: ORDERS }, (_, i) => `${run}-${i}`);
    // StarPago knows half of them, still pending: they stay in the schedule and keep being hinted.
    refs.slice(0, ORDERS / 2).forEach((ref) => fake.setOrder('payin', ref, { status: 'PENDING', amount: '1.00', paidAmount: '0', currency: 'PHP' }));
    const statuses = [...V3_STATUSES, 'BOGUS', 'bogus-2', 'x'.repeat(60)];

    t.reconciler.job.start();
    const started = Date.now();
    const concurrency = 50;
    let sent = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        for (let i = worker; i < HINTS; i += concurrency) {
          const fields = v3Fields({ merOrderNo: refs[i % ORDERS], status: statuses[i % statuses.length], updateTime: 1700000000000 + i, attach: `n${i}` });
          const response = await postStarpago(t.app, 'payin', fields, { remoteAddress: '127.0.0.1' });
          expect(response.statusCode).toBe(200);
          sent += 1;
        }
      }),
    );
    expect(sent).toBe(HINTS);
    // Keep reconciling past the flood, as the service would.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await t.reconciler.job.stop();

    const { rows } = await t.db.pool.query<{ rows: number }>(
      `SELECT count(*)::int AS rows FROM notifications WHERE source = 'notification' AND order_ref LIKE $1`,
      [`${run}-%`],
    );
    expect(rows[0]?.rows).toBeLessThanOrEqual(ORDERS * V3_STATUSES.length);

    const asked = fake.queries.filter((q) => q.merOrderNo?.startsWith(`${run}-`) === true);
    expect(asked.length).toBeGreaterThan(0);
    const byOrder = new Map<string, number[]>();
    for (const query of asked) byOrder.set(query.merOrderNo as string, [...(byOrder.get(query.merOrderNo as string) ?? []), query.at]);
    const elapsed = Date.now() - started;
    for (const [ref, times] of byOrder) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i += 1) expect((times[i] as number) - (times[i - 1] as number), ref).toBeGreaterThanOrEqual(QUERY_INTERVAL_MS);
      expect(times.length, ref).toBeLessThanOrEqual(Math.ceil(elapsed / QUERY_INTERVAL_MS) + 1);
    }
  }, 300_000);
});
