import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitFor } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { startServerProcess } from '../helpers/server-process.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Committed batches and the notifications they carried, from the service's /metrics. */
async function committedBatches(url: string): Promise<{ batches: number; notifications: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (series: string) => Number(new RegExp(`^${series}\\{committed="true"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { batches: value('receiver_ingest_batch_size_count'), notifications: value('receiver_ingest_batch_size_sum') };
}

describe('kill -9 while group-commit batches are in flight', () => {
  it('loses no acknowledged notification: each SUCCESS came after its own batch committed', async () => {
    const starpay = generateRsaKeyPair();
    const env = { DATABASE_URL: database.url, STARPAY_PUBLIC_KEYS: starpay.publicKeyPem, INGEST_BATCH_MAX: '16', LOG_LEVEL: 'fatal' };
    const first = await startServerProcess(env);
    const notifications = Array.from({ length: 1_500 }, (_, i) =>
      // every third one a second notification of an earlier order, so batches also carry order updates
      signedNotification(
        starpay.privateKey,
        i % 3 === 2 ? { originalMsgId: `crash-${i - 1}`, trxState: 'SUCCESS' } : { originalMsgId: `crash-${i}`, trxState: 'PROCESSING' },
      ),
    );
    const acknowledged: string[] = [];
    const answered: { status: number; body: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < notifications.length) {
        const notification = notifications[next++];
        if (notification === undefined) return;
        const reply = await postNotification(first.url, 'repayment', notification.body);
        answered.push(reply);
        if (reply.status === 200 && reply.body === 'SUCCESS') acknowledged.push(notification.body);
      }
    };
    const load = Promise.all(Array.from({ length: 48 }, worker));
    await waitFor(() => acknowledged.length >= 300, 60_000, '300 acknowledgements');
    const seen = await committedBatches(first.url);
    expect(await first.stop('SIGKILL')).toBeNull();
    await load;
    // The load was really grouped: fewer batches than notifications.
    expect(seen.batches).toBeGreaterThan(0);
    expect(seen.notifications / seen.batches).toBeGreaterThan(1.5);
    expect(acknowledged.length).toBeLessThan(notifications.length);
    // Nothing but SUCCESS or a failed connection: no error reply was sent as the process died.
    expect(answered.filter((reply) => reply.status !== 200 && reply.status !== 0)).toEqual([]);

    const stored = new Set(
      (await query<{ signed_text: string }>("SELECT signed_text FROM notifications WHERE status = 'accepted'")).map((row) => row.signed_text),
    );
    const lost = acknowledged.filter((body) => !stored.has(JSON.stringify((JSON.parse(body) as { request: unknown }).request)));
    expect(lost).toEqual([]);
    // Every stored order state came with its event: a batch committed whole or not at all.
    const [counts] = await query<{ orders: number; mismatched: number }>(
      `SELECT count(*)::int AS orders,
              count(*) FILTER (WHERE o.state IS DISTINCT FROM (
                SELECT e.body::json -> 'data' ->> 'state' FROM events e WHERE e.order_id = o.id ORDER BY e.id DESC LIMIT 1))::int AS mismatched
       FROM orders o`,
    );
    expect(counts?.orders).toBeGreaterThan(0);
    expect(counts?.mismatched).toBe(0);
  });
});
