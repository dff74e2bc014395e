import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
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

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

/** A delivery of a fresh order, put in the given state. */
async function deliveryIn(status: 'pending' | 'delivered' | 'dead'): Promise<number> {
  const fields = requestFields();
  const heard = wakeUps.length;
  await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });
  const { rows } = await t.db.pool.query<{ id: number }>(
    `UPDATE deliveries d SET status = $2, attempts = 12, last_error = 'HTTP 503',
       next_attempt_at = now() + interval '6 hours', lease_until = NULL,
       delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
     FROM orders o WHERE o.id = d.order_id AND o.order_ref = $1 RETURNING d.id`,
    [fields.originalMsgId, status],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('no delivery written');
  // The ingest's own wake-up (coalesced, so it may come late or twice), out of the way of the retry's.
  await waitForWakeUp(heard + 1);
  await waitForQuiet();
  return id;
}

async function row(id: number) {
  const { rows } = await t.db.pool.query('SELECT status, attempts, lease_until, next_attempt_at <= now() AS due, last_error FROM deliveries WHERE id = $1', [
    id,
  ]);
  return rows[0];
}

function retry(id: string) {
  return t.app.inject({ method: 'POST', url: `/ops/deliveries/${id}/retry`, headers: auth });
}

/** Until no wake-up has arrived for 150 ms. */
async function waitForQuiet(): Promise<void> {
  for (let seen = -1; seen !== wakeUps.length;) {
    seen = wakeUps.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function waitForWakeUp(count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (wakeUps.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('POST /ops/deliveries/:id/retry', () => {
  it('makes a dead delivery pending and due now, keeps its attempts, and wakes the forwarder', async () => {
    const id = await deliveryIn('dead');
    const before = wakeUps.length;

    const response = await retry(`dlv_${id}`);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      delivery: {
        id: `dlv_${id}`,
        eventId: expect.stringMatching(/^evt_/),
        url: 'http://127.0.0.1:9/hook',
        destination: expect.stringMatching(/^dst_[0-9a-f]{12}$/),
        provider: 'starpay',
        kind: 'repayment',
        orderRef: expect.any(String),
        status: 'pending',
        attempts: 12,
        lastError: 'HTTP 503',
        nextAttemptAt: expect.any(String),
        deliveredAt: null,
        heldBy: null,
      },
    });
    expect(await row(id)).toEqual({ status: 'pending', attempts: 12, lease_until: null, due: true, last_error: 'HTTP 503' });
    await waitForWakeUp(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(wakeUps.slice(before)).toEqual(['receiver_outbox']);
  });

  it('makes a pending delivery waiting for its backoff due now', async () => {
    const id = await deliveryIn('pending');
    expect(await row(id)).toMatchObject({ due: false });

    expect((await retry(`dlv_${id}`)).statusCode).toBe(202);
    expect(await row(id)).toMatchObject({ status: 'pending', attempts: 12, lease_until: null, due: true });
  });

  it('leaves the live lease of a delivery mid-attempt alone, so that it is not sent twice at once', async () => {
    const id = await deliveryIn('pending');
    await t.db.pool.query("UPDATE deliveries SET lease_until = now() + interval '1 minute' WHERE id = $1", [id]);

    expect((await retry(`dlv_${id}`)).statusCode).toBe(202);
    const after = await row(id);
    expect(after).toMatchObject({ status: 'pending', due: true });
    expect(after.lease_until).not.toBeNull();
  });

  it('answers 409 for a delivered delivery and leaves it alone', async () => {
    const id = await deliveryIn('delivered');
    const before = wakeUps.length;

    const response = await retry(`dlv_${id}`);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ code: 'ALREADY_DELIVERED', message: expect.any(String), requestId: expect.any(String) });
    expect(await row(id)).toMatchObject({ status: 'delivered', due: false });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(wakeUps.length).toBe(before);
  });

  it.each(['dlv_999999999', 'dlv_abc', 'ntf_1', '999999999'])('answers 404 for %s', async (id) => {
    const response = await retry(id);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});
