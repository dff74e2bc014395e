import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v3State } from '../../src/providers/starpago/states.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { pruneNotifications } from '../../src/store/ingest.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/fake-downstream.js';
import {
  STARPAGO_APP_ID,
  STARPAGO_APP_SECRET,
  merOrderNo,
  notificationsOf,
  orderDetail,
  postStarpago,
  signedV2,
  v2Fields,
  v3Fields,
} from '../helpers/starpago.js';

const NOTIFY_RATE_LIMIT = 3;

let fake: FakeStarpago;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeStarpago({ appId: STARPAGO_APP_ID, appSecret: STARPAGO_APP_SECRET });
  t = await startTestApp({
    STARPAGO_APP_ID,
    STARPAGO_APP_SECRET,
    STARPAGO_API_URL: fake.url,
    RECONCILE_SCHEDULE: '1s,1s,1s',
    NOTIFY_RATE_LIMIT: String(NOTIFY_RATE_LIMIT),
  });
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

/** StarPago's truth about an order, as its v3 query answers it. */
function truth(status: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { status, orderNo: 'SP-TRUTH', amount: '250.00', paidAmount: '250.00', currency: 'PHP', updateTime: 1700000090000, ...overrides };
}

/** Posts a v3 callback and expects it acknowledged, although nothing in it is trusted yet. */
async function hint(kind: string, fields: Record<string, unknown>) {
  const response = await postStarpago(t.app, kind, fields);
  expect(response.statusCode).toBe(200);
  expect(response.body).toBe('SUCCESS');
}

function queriesOf(orderRef: string) {
  return fake.queries.filter((q) => q.merOrderNo === orderRef);
}

/** Runs reconciliation rounds until none of these references has an unverified hint left. */
async function settle(...orderRefs: string[]) {
  await waitFor(
    async () => {
      await t.reconciler.runDue();
      const all = await Promise.all(orderRefs.map((ref) => notificationsOf(t.app, ref)));
      return all.flat().every((n) => n.status !== 'unverified');
    },
    15_000,
    `the hints of ${orderRefs.join(', ')} to be settled`,
  );
}

/** Lets the 10 s that a hint waits after the provider's last answer about its order pass. */
async function lastAnswerLongAgo(orderRef: string) {
  await t.db.pool.query(`UPDATE provider_queries SET answered_at = answered_at - interval '10 seconds' WHERE order_ref = $1`, [orderRef]);
}

async function scheduledQuery(kind: string, orderRef: string) {
  const { rows } = await t.db.pool.query<{ due_in_ms: number; failures: number }>(
    `SELECT (extract(epoch FROM due_at - now()) * 1000)::float8 AS due_in_ms, failures FROM provider_queries WHERE kind = $1 AND order_ref = $2`,
    [kind, orderRef],
  );
  return rows[0] ?? null;
}

describe('a StarPago v3 callback', () => {
  it('is stored unverified and answered SUCCESS, and leaves the order alone until StarPago is asked', async () => {
    const fields = v3Fields({ status: 'PAID' });
    const ref = fields.merOrderNo as string;
    fake.setOrder('payin', ref, truth('PAID'));
    await hint('payin', fields);

    expect(await orderDetail(t.app, 'payin', ref)).toBeNull();
    expect(await notificationsOf(t.app, ref)).toMatchObject([
      { source: 'notification', status: 'unverified', reason: null, deliveryCount: 1, request: fields },
    ]);
    expect(queriesOf(ref)).toHaveLength(0);
    // The query is due at once, not at the schedule's first slot.
    expect((await scheduledQuery('payin', ref))?.due_in_ms).toBeLessThanOrEqual(0);

    await t.reconciler.runDue();
    expect(queriesOf(ref)).toMatchObject([{ version: 'v3', kind: 'payin', status: 200 }]);
    const detail = await orderDetail(t.app, 'payin', ref);
    expect(detail?.order).toMatchObject({
      provider: 'starpago',
      state: 'SUCCESS',
      rawState: 'PAID',
      amount: 25000,
      paidAmount: 25000,
      currency: 'PHP',
      notificationCount: 0,
      lastQueriedAt: expect.any(String),
    });
    expect(detail?.events.map((e) => e.data)).toMatchObject([{ source: 'query', state: 'SUCCESS', previousState: null, rawState: 'PAID' }]);
    expect(detail?.notifications.map((n) => [n.source, n.status])).toEqual([
      ['notification', 'accepted'],
      ['query', 'accepted'],
    ]);
    // A final order leaves the schedule.
    expect(await scheduledQuery('payin', ref)).toBeNull();
  });

  it('follows what StarPago says, not what the callback says: a contradicted hint is rejected and the answer applied', async () => {
    const fields = v3Fields({ status: 'PAID' });
    const ref = fields.merOrderNo as string;
    fake.setOrder('payout', ref, truth('PENDING', { paidAmount: null }));
    await hint('payout', fields);
    await settle(ref);

    const detail = await orderDetail(t.app, 'payout', ref);
    expect(detail?.order).toMatchObject({ state: 'PENDING', rawState: 'PENDING', amount: 25000, paidAmount: null });
    expect(detail?.events.map((e) => e.data)).toMatchObject([{ source: 'query', state: 'PENDING' }]);
    const kept = await notificationsOf(t.app, ref);
    expect(kept).toMatchObject([
      { source: 'notification', status: 'rejected', reason: 'CONTRADICTED_BY_PROVIDER', request: fields },
      { source: 'query', status: 'accepted', reason: null, request: { code: 0, data: { status: 'PENDING', merOrderNo: ref } } },
    ]);
  });

  it('for an order StarPago does not know is rejected NOT_FOUND_AT_PROVIDER, and no order is created', async () => {
    const fields = v3Fields({ status: 'PAID' });
    const ref = fields.merOrderNo as string;
    await hint('payin', fields);
    await settle(ref);

    expect(queriesOf(ref)).toMatchObject([{ status: 404 }]);
    expect(await orderDetail(t.app, 'payin', ref)).toBeNull();
    expect(await notificationsOf(t.app, ref)).toMatchObject([{ source: 'notification', status: 'rejected', reason: 'NOT_FOUND_AT_PROVIDER' }]);
    // Kept in the schedule, never due, until another hint for it comes (or it is abandoned).
    const { rows } = await t.db.pool.query(`SELECT due_at = 'infinity' AS waiting, unknown_answers FROM provider_queries WHERE order_ref = $1`, [ref]);
    expect(rows).toEqual([{ waiting: true, unknown_answers: 1 }]);
  });

  it('stays unverified while StarPago is down, its query postponed, and is confirmed on a later round once it is back', async () => {
    const fields = v3Fields({ status: 'FAILED', paidAmount: '0' });
    const ref = fields.merOrderNo as string;
    fake.setOrder('payout', ref, truth('FAILED', { paidAmount: '0' }));
    fake.setDown(true);
    try {
      await hint('payout', fields);
      await t.reconciler.runDue();

      expect(await notificationsOf(t.app, ref)).toMatchObject([{ status: 'unverified' }]);
      expect(await orderDetail(t.app, 'payout', ref)).toBeNull();
      const postponed = await scheduledQuery('payout', ref);
      expect(postponed?.failures).toBeGreaterThanOrEqual(1);
      expect(postponed?.due_in_ms).toBeGreaterThan(0);
      expect(postponed?.due_in_ms).toBeLessThanOrEqual(1_000);
      // Not asked again before its slot, however many rounds run.
      await t.reconciler.runDue();
      expect((await scheduledQuery('payout', ref))?.failures).toBe(postponed?.failures);
    } finally {
      fake.setDown(false);
    }

    await settle(ref);
    expect(await notificationsOf(t.app, ref)).toMatchObject([
      { source: 'notification', status: 'accepted' },
      { source: 'query', status: 'accepted' },
    ]);
    expect((await orderDetail(t.app, 'payout', ref))?.order).toMatchObject({ state: 'FAILED', rawState: 'FAILED', paidAmount: 0 });
  });

  it('shares one query with every other hint of its order', async () => {
    const ref = merOrderNo('V3');
    fake.setOrder('payin', ref, truth('PAID'));
    const statuses = ['CREATED', 'PENDING', 'PAID', 'EXPIRED'];
    await Promise.all(statuses.map((status, i) => hint('payin', v3Fields({ merOrderNo: ref, status, updateTime: 1700000000000 + i }))));
    expect(await notificationsOf(t.app, ref)).toHaveLength(4);

    await settle(ref);
    expect(queriesOf(ref)).toHaveLength(1);
    const hints = (await notificationsOf(t.app, ref)).filter((n) => n.source === 'notification');
    expect(hints.map((n) => [(n.request as { status: string }).status, n.status, n.reason]).sort()).toEqual([
      ['CREATED', 'rejected', 'CONTRADICTED_BY_PROVIDER'],
      ['EXPIRED', 'rejected', 'CONTRADICTED_BY_PROVIDER'],
      ['PAID', 'accepted', null],
      ['PENDING', 'rejected', 'CONTRADICTED_BY_PROVIDER'],
    ]);
    expect((await orderDetail(t.app, 'payin', ref))?.events).toHaveLength(1);
  });

  it('uses up no slot of the schedule when a hint asked for the query: many hints never make an order stale', async () => {
    const ref = merOrderNo('HINTS');
    fake.setOrder('payin', ref, truth('PENDING', { paidAmount: null }));
    // More hints than the schedule has slots (three), each asking once the 10 s after the last answer passed.
    for (let i = 0; i < 5; i++) {
      await lastAnswerLongAgo(ref);
      await hint('payin', v3Fields({ merOrderNo: ref, status: 'PENDING', updateTime: 1700000000000 + i }));
      await settle(ref);
    }
    expect(queriesOf(ref)).toHaveLength(5);
    const { rows } = await t.db.pool.query('SELECT query_slot, stale FROM orders WHERE kind = $1 AND order_ref = $2', ['payin', ref]);
    expect(rows[0]).toEqual({ query_slot: 0, stale: false });
    expect((await scheduledQuery('payin', ref))?.due_in_ms).toBeGreaterThan(0);
  });

  it('asks again when it arrives again while its order is not final, and not once the order is final', async () => {
    const fields = v3Fields({ status: 'PENDING' });
    const ref = fields.merOrderNo as string;
    fake.setOrder('payin', ref, truth('PENDING', { paidAmount: null }));
    await hint('payin', fields);
    await settle(ref);
    expect(queriesOf(ref)).toHaveLength(1);
    // The PENDING order waits for its next slot…
    expect((await scheduledQuery('payin', ref))?.due_in_ms).toBeGreaterThan(0);

    // …unless StarPago calls again: then it is asked 10 s after the last answer, or at once when that is past.
    fake.setOrder('payin', ref, truth('PAID', { updateTime: 1700000099000 }));
    await hint('payin', fields);
    const soon = (await scheduledQuery('payin', ref))?.due_in_ms;
    expect(soon).toBeGreaterThan(0);
    expect(soon).toBeLessThanOrEqual(10_000);
    await lastAnswerLongAgo(ref);
    await hint('payin', fields);
    expect((await scheduledQuery('payin', ref))?.due_in_ms).toBeLessThanOrEqual(0);
    await t.reconciler.runDue();
    expect(queriesOf(ref)).toHaveLength(2);
    expect((await orderDetail(t.app, 'payin', ref))?.order).toMatchObject({ state: 'SUCCESS', rawState: 'PAID' });
    expect((await notificationsOf(t.app, ref)).filter((n) => n.source === 'notification')).toMatchObject([{ status: 'accepted', deliveryCount: 3 }]);

    // The same callback once more, the order final: counted, not asked about.
    await hint('payin', fields);
    expect(await scheduledQuery('payin', ref)).toBeNull();
    await t.reconciler.runDue();
    expect(queriesOf(ref)).toHaveLength(2);
    expect((await notificationsOf(t.app, ref)).filter((n) => n.source === 'notification')).toMatchObject([{ deliveryCount: 4 }]);
  });

  it('never moves an order by itself: the order only ever takes the state of a query answer', async () => {
    const STATUSES = ['CREATED', 'PENDING', 'PAID', 'FAILED', 'EXPIRED', 'REFUNDED', 'EXCEPTION'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...STATUSES), { minLength: 1, maxLength: 4 }),
        fc.option(fc.constantFrom(...STATUSES), { nil: null }),
        fc.boolean(),
        fc.constantFrom('payin', 'payout'),
        async (hintStatuses, truthStatus, knownBefore, kind) => {
          const ref = merOrderNo('PROP');
          if (knownBefore) {
            const response = await postStarpago(t.app, kind, signedV2(v2Fields({ merOrderNo: ref, orderStatus: 0 })));
            expect(response.body).toBe('SUCCESS');
          }
          if (truthStatus !== null) fake.setOrder(kind, ref, truth(truthStatus, { updateTime: 1700000000000 + hintStatuses.length }));
          for (const [i, status] of hintStatuses.entries()) await hint(kind, v3Fields({ merOrderNo: ref, status, updateTime: 1700000000000 + i }));

          // Before the query: exactly what was there before the hints.
          const before = await orderDetail(t.app, kind, ref);
          if (knownBefore) expect(before?.order).toMatchObject({ state: 'PENDING', rawState: '0' });
          else expect(before).toBeNull();

          await settle(ref);
          const after = await orderDetail(t.app, kind, ref);
          const hints = (await notificationsOf(t.app, ref)).filter((n) => n.source === 'notification' && (n.request as { sign?: string }).sign === undefined);
          if (truthStatus === null) {
            if (knownBefore) expect(after?.order).toMatchObject({ state: 'PENDING', rawState: '0' });
            else expect(after).toBeNull();
            expect(hints.every((n) => n.status === 'rejected' && n.reason === 'NOT_FOUND_AT_PROVIDER')).toBe(true);
            return;
          }
          const expected = v3State(truthStatus);
          expect(after?.order).toMatchObject({ state: expected });
          if (after?.order.state !== 'PENDING' || !knownBefore) expect(after?.order.rawState).toBe(truthStatus);
          for (const n of hints) {
            const agrees = v3State((n.request as { status: string }).status) === expected;
            expect([n.status, n.reason]).toEqual(agrees ? ['accepted', null] : ['rejected', 'CONTRADICTED_BY_PROVIDER']);
          }
          // Every event of the order past the v2 callback came from StarPago's answer.
          expect(after?.events.slice(knownBefore ? 1 : 0).every((e) => e.data.source === 'query')).toBe(true);
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('forged StarPago hints', () => {
  it('cost one query per unknown order at most, however many arrive, are kept once per status, and are all rejected', async () => {
    const refs = Array.from({ length: 10 }, () => merOrderNo('FORGED'));
    await Promise.all(
      refs.flatMap((ref) =>
        ['PAID', 'REFUNDED', 'PAID'].map((status, i) => hint('payin', v3Fields({ merOrderNo: ref, status, updateTime: 1700000000000 + i }))),
      ),
    );
    await settle(...refs);

    for (const ref of refs) {
      expect(queriesOf(ref)).toHaveLength(1);
      expect(await orderDetail(t.app, 'payin', ref)).toBeNull();
      const kept = await notificationsOf(t.app, ref);
      expect(kept).toHaveLength(2);
      expect(kept.every((n) => n.status === 'rejected' && n.reason === 'NOT_FOUND_AT_PROVIDER')).toBe(true);
    }
  });

  it('are answered 429 past the notify rate limit from a non-loopback address, and not stored', async () => {
    const address = '198.51.100.23';
    const refs = Array.from({ length: NOTIFY_RATE_LIMIT + 2 }, () => merOrderNo('FLOOD'));
    const replies = [];
    for (const ref of refs) replies.push(await postStarpago(t.app, 'payout', v3Fields({ merOrderNo: ref }), { remoteAddress: address }));

    expect(replies.slice(0, NOTIFY_RATE_LIMIT).map((r) => r.body)).toEqual(Array(NOTIFY_RATE_LIMIT).fill('SUCCESS'));
    for (const limited of replies.slice(NOTIFY_RATE_LIMIT)) {
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
      expect(limited.body).not.toContain('SUCCESS');
    }
    for (const ref of refs.slice(NOTIFY_RATE_LIMIT)) expect(await notificationsOf(t.app, ref)).toEqual([]);
    // StarPago's own retries from another address are not held back by the flood.
    expect((await postStarpago(t.app, 'payout', v3Fields(), { remoteAddress: '198.51.100.24' })).body).toBe('SUCCESS');
  });

  it('are bounded in storage: pruning keeps the newest `keep` hints and `keep` refused requests, and verified notifications all', async () => {
    const keep = 4;
    // Refused requests: bad signatures, each a distinct body.
    for (let i = 0; i < keep + 2; i++) await postStarpago(t.app, 'payin', signedV2(v2Fields(), 'forger-secret'));
    const pendingRefs = Array.from({ length: keep + 3 }, () => merOrderNo('UNASKED'));
    for (const ref of pendingRefs) await hint('payin', v3Fields({ merOrderNo: ref }));

    const count = async (where: string) => Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM notifications WHERE ${where}`)).rows[0]?.n);
    const refused = "status = 'rejected' AND NOT hint";
    const verified = "status = 'accepted' AND NOT hint";
    const verifiedBefore = await count(verified);
    expect(await count(refused)).toBeGreaterThan(keep);
    expect(await count('hint')).toBeGreaterThan(keep);

    const pruned = await pruneNotifications(t.db.pool, keep);
    expect(pruned).toBeGreaterThan(0);
    expect(await count(refused)).toBe(keep);
    expect(await count('hint')).toBe(keep);
    expect(await count(verified)).toBe(verifiedBefore);
    // The newest hints survive; a pruned one keeps its order's query scheduled.
    for (const ref of pendingRefs.slice(-keep)) expect(await notificationsOf(t.app, ref)).toMatchObject([{ status: 'unverified' }]);
    expect(await notificationsOf(t.app, pendingRefs[0] as string)).toEqual([]);
    expect(await scheduledQuery('payin', pendingRefs[0] as string)).not.toBeNull();
    expect(await pruneNotifications(t.db.pool, keep)).toBe(0);
  });
});

describe('StarPago callbacks without the configuration to trust them', () => {
  it('v3 is refused 401 when the query API is not configured, and recorded; v2 is still accepted', async () => {
    const noApi = await startTestApp({ STARPAGO_APP_ID, STARPAGO_APP_SECRET });
    try {
      const fields = v3Fields({ status: 'PAID' });
      const response = await postStarpago(noApi.app, 'payin', fields);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED' });
      expect(await orderDetail(noApi.app, 'payin', fields.merOrderNo as string)).toBeNull();
      expect(await notificationsOf(noApi.app, fields.merOrderNo as string)).toMatchObject([{ status: 'rejected', reason: 'PROVIDER_NOT_CONFIGURED' }]);
      const { rows } = await noApi.db.pool.query('SELECT 1 FROM provider_queries');
      expect(rows).toEqual([]);

      const v2 = v2Fields({ orderStatus: 2 });
      expect((await postStarpago(noApi.app, 'payout', signedV2(v2))).body).toBe('SUCCESS');
      expect((await orderDetail(noApi.app, 'payout', v2.merOrderNo as string))?.order.state).toBe('SUCCESS');
    } finally {
      await noApi.close();
    }
  });

  it('both generations are refused 401 on both paths when StarPago is not configured at all', async () => {
    const bare = await startTestApp();
    try {
      for (const kind of ['payin', 'payout']) {
        for (const fields of [signedV2(v2Fields()), v3Fields()]) {
          const response = await postStarpago(bare.app, kind, fields);
          expect(response.statusCode).toBe(401);
          expect(response.json()).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED' });
          expect(await orderDetail(bare.app, kind, fields.merOrderNo as string)).toBeNull();
        }
      }
    } finally {
      await bare.close();
    }
  });
});

/**
 * A real HTTP hop in front of the fake StarPago: while held, query answers are fetched from the
 * fake at once (StarPago's truth at the moment it was asked) but handed back only on release.
 */
async function startHoldingProxy(target: string) {
  let held: (() => void)[] = [];
  let holding = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const upstream = await fetch(target + (req.url ?? '/'), {
          method: req.method,
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              (e): e is [string, string] => typeof e[1] === 'string' && ['authorization', 'content-type', 'accept'].includes(e[0]),
            ),
          ),
          ...(req.method === 'GET' ? {} : { body: Buffer.concat(chunks) }),
        });
        const text = await upstream.text();
        const send = () => void res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
        if (holding && (req.url ?? '').includes('/query')) held.push(send);
        else send();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold() {
      holding = true;
    },
    get heldCount() {
      return held.length;
    },
    release() {
      holding = false;
      for (const send of held) send();
      held = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a StarPago v3 callback arriving while its order is being asked about', () => {
  it('is not settled by the answer to a question asked before it came, and its order is asked again 10 s after that answer', async () => {
    const proxy = await startHoldingProxy(fake.url);
    const app = await startTestApp({ STARPAGO_APP_ID, STARPAGO_APP_SECRET, STARPAGO_API_URL: proxy.url, RECONCILE_SCHEDULE: '1h' });
    try {
      const ref = merOrderNo('RACE');
      fake.setOrder('payin', ref, truth('PENDING', { paidAmount: null, updateTime: 1700000001000 }));
      expect((await postStarpago(app.app, 'payin', v3Fields({ merOrderNo: ref, status: 'PENDING', updateTime: 1700000001000 }))).body).toBe('SUCCESS');

      // StarPago is asked, and answers PENDING; the answer is still on its way back…
      proxy.hold();
      const round = app.reconciler.runDue();
      await waitFor(() => proxy.heldCount === 1, 5_000, 'the query to be answered');
      // …when the customer pays and StarPago calls back.
      fake.setOrder('payin', ref, truth('PAID', { updateTime: 1700000002000 }));
      expect((await postStarpago(app.app, 'payin', v3Fields({ merOrderNo: ref, status: 'PAID', updateTime: 1700000002000 }))).body).toBe('SUCCESS');
      proxy.release();
      await round;

      // The PAID callback was not what StarPago was asked about: it still waits for its own answer.
      const paidHint = (await notificationsOf(app.app, ref)).find((n) => (n.request as { status?: string }).status === 'PAID');
      expect(paidHint).toMatchObject({ source: 'notification', status: 'unverified' });
      expect((await orderDetail(app.app, 'payin', ref))?.order.state).toBe('PENDING');

      // It is asked again 10 s after that answer, not an hour later.
      const { rows } = await app.db.pool.query<{ due_in_ms: number }>(
        `SELECT (extract(epoch FROM due_at - now()) * 1000)::float8 AS due_in_ms FROM provider_queries WHERE order_ref = $1`,
        [ref],
      );
      expect(rows[0]?.due_in_ms).toBeLessThanOrEqual(10_000);
      await app.db.pool.query(`UPDATE provider_queries SET due_at = now() WHERE order_ref = $1`, [ref]);
      await app.reconciler.runDue();
      expect((await orderDetail(app.app, 'payin', ref))?.order).toMatchObject({ state: 'SUCCESS', rawState: 'PAID', stale: false });
      expect((await notificationsOf(app.app, ref)).filter((n) => n.source === 'notification').map((n) => n.status)).toEqual(['accepted', 'accepted']);
    } finally {
      await app.close();
      await proxy.close();
    }
  });

  it('is not rejected by a not-found answer to a question asked before it came', async () => {
    const proxy = await startHoldingProxy(fake.url);
    const app = await startTestApp({ STARPAGO_APP_ID, STARPAGO_APP_SECRET, STARPAGO_API_URL: proxy.url, RECONCILE_SCHEDULE: '1h' });
    try {
      const ref = merOrderNo('RACE');
      expect((await postStarpago(app.app, 'payout', v3Fields({ merOrderNo: ref, status: 'CREATED', updateTime: 1700000001000 }))).body).toBe('SUCCESS');

      proxy.hold();
      const round = app.reconciler.runDue();
      await waitFor(() => proxy.heldCount === 1, 5_000, 'the query to be answered');
      fake.setOrder('payout', ref, truth('PAID', { updateTime: 1700000002000 }));
      expect((await postStarpago(app.app, 'payout', v3Fields({ merOrderNo: ref, status: 'PAID', updateTime: 1700000002000 }))).body).toBe('SUCCESS');
      proxy.release();
      await round;

      expect((await notificationsOf(app.app, ref)).map((n) => [n.status, n.reason])).toEqual([
        ['rejected', 'NOT_FOUND_AT_PROVIDER'],
        ['unverified', null],
      ]);
      await app.db.pool.query(`UPDATE provider_queries SET due_at = now() WHERE order_ref = $1 AND due_at < 'infinity'`, [ref]);
      await app.reconciler.runDue();
      expect((await orderDetail(app.app, 'payout', ref))?.order).toMatchObject({ state: 'SUCCESS', rawState: 'PAID' });
      expect((await notificationsOf(app.app, ref)).filter((n) => n.source === 'notification').map((n) => n.status)).toEqual(['rejected', 'accepted']);
    } finally {
      await app.close();
      await proxy.close();
    }
  });
});
