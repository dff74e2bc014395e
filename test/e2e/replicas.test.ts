import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let database: TestDatabase;
let downstream: FakeDownstream;
let replicas: ServerProcess[] = [];
const starpay = generateRsaKeyPair();

beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream();
  const env = {
    DATABASE_URL: database.url,
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    LOG_LEVEL: 'fatal',
  };
  // One replica listens over a direct connection; the other has none (as behind a transaction-mode
  // pooler without DATABASE_DIRECT_URL) and polls.
  replicas = await Promise.all([startServerProcess({ ...env, DATABASE_DIRECT_URL: database.directUrl }), startServerProcess(env)]);
});
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
  await downstream.close();
  await database.drop();
});

describe('two service processes on one database', () => {
  it('store parallel copies of a notification sent to both once, and forward each change once', async () => {
    const notifications = Array.from({ length: 20 }, () => signedNotification(starpay.privateKey));
    const copies = notifications.flatMap((notification) =>
      Array.from({ length: 10 }, (_, i) => postNotification(replicas[i % 2]!.url, 'static-qr', notification.body)),
    );
    const replies = await Promise.all(copies);
    expect(replies.every((reply) => reply.status === 200 && reply.body === 'SUCCESS')).toBe(true);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ delivery_count: number }>('SELECT delivery_count FROM notifications');
      expect(rows).toHaveLength(notifications.length);
      expect(rows.every((row) => row.delivery_count === 10)).toBe(true);
      const { rows: events } = await client.query('SELECT 1 FROM events');
      expect(events).toHaveLength(notifications.length);
    } finally {
      await client.end();
    }

    await waitFor(() => downstream.received.length >= notifications.length, 15_000, 'every webhook');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = downstream.received.map((w) => w.headers['webhook-id']);
    expect(ids).toHaveLength(notifications.length);
    expect(new Set(ids).size).toBe(notifications.length);
  });
});
