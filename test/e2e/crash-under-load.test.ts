import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { startServerProcess } from '../helpers/server-process.js';

let database: TestDatabase;
let downstream: FakeDownstream;
beforeAll(async () => {
  database = await createTestDatabase();
  // A slow downstream, so that deliveries are in flight when the process dies.
  downstream = await startFakeDownstream(() => ({ status: 200, delayMs: 100 }));
});
afterAll(async () => {
  await downstream.close();
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

describe('kill -9 under concurrent load', () => {
  it('loses no acknowledged notification, and delivers every stored state change after the restart', async () => {
    const starpay = generateRsaKeyPair();
    const env = {
      DATABASE_URL: database.url,
      STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
      FORWARD_URLS: downstream.url,
      FORWARD_SECRET,
      FORWARD_BACKOFF_MS: '100',
      // Short attempts mean short leases: deliveries caught mid-attempt are reclaimable in ~7 s.
      FORWARD_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'fatal',
    };
    const first = await startServerProcess(env);
    const notifications = Array.from({ length: 400 }, () => signedNotification(starpay.privateKey));
    const acknowledged: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < notifications.length) {
        const notification = notifications[next++];
        if (notification === undefined) return;
        const reply = await postNotification(first.url, 'repayment', notification.body);
        if (reply.status === 200 && reply.body === 'SUCCESS') acknowledged.push(notification.ref);
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    await waitFor(() => acknowledged.length >= 100, 30_000, '100 acknowledgements');
    expect(await first.stop('SIGKILL')).toBeNull();
    await load;
    expect(acknowledged.length).toBeLessThan(notifications.length);

    const second = await startServerProcess(env);
    try {
      const stored = new Set((await query<{ order_ref: string }>('SELECT order_ref FROM orders')).map((row) => row.order_ref));
      expect(acknowledged.filter((ref) => !stored.has(ref))).toEqual([]);

      const events = (await query<{ public_id: string }>('SELECT public_id FROM events')).map((row) => row.public_id);
      expect(events.length).toBe(stored.size);
      const deliveredIds = () => new Set(downstream.received.filter((w) => w.status === 200).map((w) => w.headers['webhook-id']));
      await waitFor(() => events.every((id) => deliveredIds().has(id)), 60_000, 'every event delivered');
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });
});
