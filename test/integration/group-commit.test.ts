import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderState } from '../../src/domain/order-state.js';
import type { Notification } from '../../src/domain/provider.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { createGroupCommit, type GroupCommitOptions } from '../../src/store/group-commit.js';
import type { IngestTargets } from '../../src/store/ingest.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let db: Database;
beforeAll(async () => {
  database = await createTestDatabase();
  db = openDatabase(database.url);
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

const targets: IngestTargets = { destinations: ['http://downstream.example/hook'], firstQueryAfterMs: null };
let sequence = 0;

function notification(orderRef: string, state: OrderState, rawState: string = state): Notification {
  const msgId = `msg-${Date.now()}-${++sequence}`;
  const request = { originalMsgId: orderRef, msgId, trxState: rawState, trxAmount: '100.00', currency: 'PHP' };
  return {
    provider: 'starpay',
    kind: 'repayment',
    orderRef,
    rawState,
    state,
    amount: 10_000,
    paidAmount: null,
    currency: 'PHP',
    trxDate: null,
    errorCode: null,
    errorMessage: null,
    msgId,
    dedupKey: `msg:${msgId}`,
    status: 'accepted',
    request,
    signedText: JSON.stringify(request),
    signature: 'c2lnbmF0dXJl',
  };
}

/** A group commit that records the size and fate of every batch it writes. */
function recordingGroupCommit(pool = db.pool, options: Partial<GroupCommitOptions> = {}) {
  const batches: { size: number; committed: boolean }[] = [];
  const groupCommit = createGroupCommit(pool, {
    batchMax: 64,
    batchesInFlight: 1,
    onBatch: (size, committed) => batches.push({ size, committed }),
    ...options,
  });
  return { groupCommit, batches };
}

async function orderOf(orderRef: string) {
  const { rows } = await db.pool.query<{ state: string; notification_count: number }>('SELECT state, notification_count FROM orders WHERE order_ref = $1', [
    orderRef,
  ]);
  return rows[0];
}

async function eventStates(orderRef: string): Promise<{ state: string; previousState: string | null }[]> {
  const { rows } = await db.pool.query<{ body: string }>(
    'SELECT e.body FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1 ORDER BY e.id',
    [orderRef],
  );
  return rows.map((row) => {
    const { state, previousState } = (JSON.parse(row.body) as { data: { state: string; previousState: string | null } }).data;
    return { state, previousState };
  });
}

const newRef = (label: string) => `gc-${label}-${Date.now()}-${++sequence}`;

describe('group commit', () => {
  it('writes the notifications that arrive together in one batch, and answers each with its own outcome', async () => {
    const { groupCommit, batches } = recordingGroupCommit();
    const refs = Array.from({ length: 10 }, () => newRef('together'));
    const first = notification(refs[0] as string, 'SUCCESS');
    const results = await Promise.all([...refs.map((ref) => groupCommit.ingest(notification(ref, 'SUCCESS'), targets)), groupCommit.ingest(first, targets)]);

    expect(batches).toEqual([{ size: 11, committed: true }]);
    expect(results.slice(0, 10).map((r) => r.outcome)).toEqual(Array(10).fill('created'));
    // the 11th is a new notification of the first order, in the same state
    expect(results[10]?.outcome).toBe('unchanged');
    for (const ref of refs) expect(await orderOf(ref)).toMatchObject({ state: 'SUCCESS' });
  });

  it('writes a lone notification at once, without waiting for company', async () => {
    const { groupCommit, batches } = recordingGroupCommit();
    const result = await groupCommit.ingest(notification(newRef('lone'), 'PENDING'), targets);
    expect(result.outcome).toBe('created');
    expect(batches).toEqual([{ size: 1, committed: true }]);
  });

  it('when one notification of a batch cannot be stored, only that one fails and the others are stored', async () => {
    const { groupCommit, batches } = recordingGroupCommit();
    const good = Array.from({ length: 4 }, () => newRef('good'));
    // An order reference far beyond what a btree index entry can hold: the database refuses the row.
    const bad = randomBytes(6_000).toString('hex');
    const settled = await Promise.allSettled([
      ...good.slice(0, 2).map((ref) => groupCommit.ingest(notification(ref, 'SUCCESS'), targets)),
      groupCommit.ingest(notification(bad, 'SUCCESS'), targets),
      ...good.slice(2).map((ref) => groupCommit.ingest(notification(ref, 'SUCCESS'), targets)),
    ]);

    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    for (const s of settled.filter((r) => r.status === 'fulfilled')) expect(s.value.outcome).toBe('created');
    for (const ref of good) expect(await orderOf(ref)).toMatchObject({ state: 'SUCCESS', notification_count: 1 });
    // the batch of five failed as a whole, then each was written alone
    expect(batches[0]).toEqual({ size: 5, committed: false });
    expect(batches.slice(1).filter((b) => b.committed)).toHaveLength(4);
    expect(batches.slice(1).filter((b) => !b.committed)).toEqual([{ size: 1, committed: false }]);
  });

  it('applies two notifications of one order in one batch in the order they arrived', async () => {
    const { groupCommit, batches } = recordingGroupCommit();
    const forward = newRef('forward');
    const late = newRef('late');
    const results = await Promise.all([
      groupCommit.ingest(notification(forward, 'PENDING', 'PROCESSING'), targets),
      groupCommit.ingest(notification(late, 'SUCCESS'), targets),
      groupCommit.ingest(notification(forward, 'SUCCESS'), targets),
      groupCommit.ingest(notification(late, 'PENDING', 'PROCESSING'), targets),
    ]);

    expect(batches).toEqual([{ size: 4, committed: true }]);
    expect(results.map((r) => r.outcome)).toEqual(['created', 'created', 'changed', 'unchanged']);
    expect(await orderOf(forward)).toMatchObject({ state: 'SUCCESS', notification_count: 2 });
    expect(await eventStates(forward)).toEqual([
      { state: 'PENDING', previousState: null },
      { state: 'SUCCESS', previousState: 'PENDING' },
    ]);
    // the late interim state changes nothing: one event, the order stays SUCCESS
    expect(await orderOf(late)).toMatchObject({ state: 'SUCCESS', notification_count: 2 });
    expect(await eventStates(late)).toEqual([{ state: 'SUCCESS', previousState: null }]);
  });

  it('concurrent batches over the same orders in opposite orders do not deadlock', async () => {
    // Two replicas: each its own pool and group commit, writing the same orders at the same time.
    const other = openDatabase(database.url);
    try {
      const a = recordingGroupCommit(db.pool);
      const b = recordingGroupCommit(other.pool);
      const refs = Array.from({ length: 40 }, () => newRef('race'));
      for (let round = 0; round < 8; round++) {
        // Each order gets two new notifications per replica and round; each replica sends them in the opposite order.
        const forA = refs.flatMap((ref) => [notification(ref, 'PENDING', `P${round}a`), notification(ref, 'PENDING', `P${round}b`)]);
        const forB = refs.flatMap((ref) => [notification(ref, 'PENDING', `P${round}c`), notification(ref, 'PENDING', `P${round}d`)]);
        const results = await Promise.all([
          ...forA.map((n) => a.groupCommit.ingest(n, targets)),
          ...forB.reverse().map((n) => b.groupCommit.ingest(n, targets)),
        ]);
        expect(results).toHaveLength(160);
      }
      expect([...a.batches, ...b.batches].filter((batch) => !batch.committed)).toEqual([]);
      // 80 notifications per replica and round, in batches of at most 64
      expect(a.batches.length).toBeGreaterThanOrEqual(16);
      for (const ref of refs) expect(await orderOf(ref)).toMatchObject({ state: 'PENDING', notification_count: 32 });
    } finally {
      await other.close();
    }
  });
});
