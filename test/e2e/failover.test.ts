import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification, type NotifyReply } from '../helpers/notify-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let database: TestDatabase;
let downstream: FakeDownstream;
let server: ServerProcess;
let admin: pg.Client;
const starpay = generateRsaKeyPair();

beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream();
  server = await startServerProcess({
    DATABASE_URL: database.url,
    DATABASE_DIRECT_URL: database.directUrl,
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_BACKOFF_MS: '100',
    LOG_LEVEL: 'warn',
  });
  // Started with no ops token, it says so.
  expect(server.output()).toContain('no ops token (OPS_TOKENS, OPS_API_TOKEN) and no single sign-on');
  admin = new pg.Client({ connectionString: database.directUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await server.stop();
  await downstream.close();
  await database.drop();
});

/** Every backend of the service's database but the test's own: as a failover or a restart ends them. */
async function terminateServiceBackends(): Promise<number> {
  const { rowCount } = await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return rowCount ?? 0;
}

describe('database connections terminated under load', () => {
  it('never crash the process: each reply is SUCCESS or 503, a 503 resent later is stored, and every change is forwarded', async () => {
    const notifications = Array.from({ length: 120 }, () => signedNotification(starpay.privateKey));
    const replies: NotifyReply[] = new Array<NotifyReply>(notifications.length);
    let next = 0;
    const sender = async () => {
      while (next < notifications.length) {
        const index = next++;
        replies[index] = await postNotification(server.url, 'repayment', (notifications[index] as { body: string }).body);
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, sender));
    let terminated = 0;
    for (let round = 0; round < 6; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      terminated += await terminateServiceBackends();
    }
    await load;
    expect(terminated).toBeGreaterThan(0);
    expect(server.child.exitCode, server.output()).toBeNull();
    for (const reply of replies) {
      if (reply.status === 200) expect(reply.body).toBe('SUCCESS');
      else expect([reply.status, JSON.parse(reply.body) as { code: string }]).toEqual([503, expect.objectContaining({ code: 'DATABASE_UNAVAILABLE' })]);
    }

    // What got 503 is resent, as the provider would, to the same process, without a restart.
    const refused = notifications.filter((_, index) => replies[index]?.status !== 200);
    for (const notification of refused) {
      expect(await postNotification(server.url, 'repayment', notification.body)).toEqual({ status: 200, body: 'SUCCESS' });
    }
    const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE order_ref = ANY($1)', [
      notifications.map((notification) => notification.ref),
    ]);
    expect(rows[0]?.n).toBe(notifications.length);

    // The forwarder (its LISTEN connection ended too) delivers every event, one webhook each.
    const refs = new Set(notifications.map((notification) => notification.ref));
    const forwarded = () =>
      new Set(downstream.received.map((w) => (JSON.parse(w.body) as { data: { orderRef: string } }).data.orderRef).filter((ref) => refs.has(ref)));
    await waitFor(() => forwarded().size === notifications.length, 30_000, 'every webhook');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    // And a notification after the terminations is forwarded as well.
    await terminateServiceBackends();
    const late = signedNotification(starpay.privateKey);
    let reply = await postNotification(server.url, 'repayment', late.body);
    if (reply.status === 503) reply = await postNotification(server.url, 'repayment', late.body);
    expect(reply).toEqual({ status: 200, body: 'SUCCESS' });
    await waitFor(() => downstream.received.some((w) => w.body.includes(late.ref)), 15_000, 'the later webhook');
    expect(server.child.exitCode, server.output()).toBeNull();
  });
});
