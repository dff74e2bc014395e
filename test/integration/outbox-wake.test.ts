import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { msUntilNextDue, OUTBOX_CHANNEL } from '../../src/store/outbox.js';
import { FORWARD_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/fake-downstream.js';
import { listenToOutbox } from '../helpers/outbox-listener.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

let t: TestApp;
let listener: Awaited<ReturnType<typeof listenToOutbox>>;
let wakeUps: string[] = [];

beforeAll(async () => {
  t = await startTestApp({ FORWARD_URLS: 'http://127.0.0.1:9/hook', FORWARD_SECRET });
  // What the forwarders listen to.
  listener = await listenToOutbox(t.database.url);
  wakeUps = listener.wakeUps;
});
afterAll(async () => {
  await listener.close();
  await t.close();
});
beforeEach(async () => {
  await t.db.pool.query("UPDATE deliveries SET status = 'delivered' WHERE status = 'pending'");
});

async function notify(fields: Record<string, unknown>): Promise<void> {
  const response = await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });
  expect(response.body).toBe('SUCCESS');
}

describe('waking the forwarders', () => {
  it('wakes the forwarders once a state change is committed, and not for a repeat', async () => {
    const fields = requestFields();
    const before = wakeUps.length;
    await notify(fields);
    await waitFor(() => wakeUps.length > before, 5_000, 'a wake-up');
    expect(wakeUps.slice(before)).toEqual([OUTBOX_CHANNEL]);

    const afterFirst = wakeUps.length;
    await notify(fields);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(wakeUps.length).toBe(afterFirst);
  });

  it('coalesces the wake-ups of commits that come together', async () => {
    const before = wakeUps.length;
    await Promise.all(Array.from({ length: 30 }, () => notify(requestFields())));
    await waitFor(() => wakeUps.length > before, 5_000, 'a wake-up');
    const { rows } = await t.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'");
    expect(rows[0]?.n).toBe(30);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const heard = wakeUps.length - before;
    expect(heard).toBeGreaterThanOrEqual(1);
    expect(heard).toBeLessThan(30);
  });
});

describe('msUntilNextDue', () => {
  it('is undefined when no delivery is pending', async () => {
    expect(await msUntilNextDue(t.db.pool, t.config.forward.urls)).toBeUndefined();
  });

  it('is 0 when a delivery is due now', async () => {
    await notify(requestFields());
    expect(await msUntilNextDue(t.db.pool, t.config.forward.urls)).toBe(0);
  });

  it('ignores a delivery held back behind an earlier one of its order, and waits for the earlier one', async () => {
    const fields = requestFields({ trxState: 'PENDING' });
    await notify(fields);
    await notify({ ...fields, msgId: `${String(fields.msgId)}-2`, trxState: 'SUCCESS' });
    // The first delivery is backing off for a minute; the second is due but must wait for it.
    await t.db.pool.query(
      `UPDATE deliveries d SET next_attempt_at = now() + interval '60 seconds'
       FROM orders o WHERE o.id = d.order_id AND o.order_ref = $1
         AND d.id = (SELECT min(id) FROM deliveries WHERE order_id = o.id)`,
      [fields.originalMsgId],
    );
    const ms = await msUntilNextDue(t.db.pool, t.config.forward.urls);
    expect(ms).toBeGreaterThan(55_000);
    expect(ms).toBeLessThanOrEqual(60_000);
  });
});
