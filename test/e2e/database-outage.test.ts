import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startTcpProxy, targetOf } from '../helpers/tcp-proxy.js';

let database: TestDatabase;
let downstream: FakeDownstream;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let server: ServerProcess;
const starpay = generateRsaKeyPair();

beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream();
  proxy = await startTcpProxy(targetOf(database.url));
  server = await startServerProcess({
    DATABASE_URL: proxy.rewrite(database.url),
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_BACKOFF_MS: '100',
    OPS_API_TOKEN: 'outage-token',
    LOG_LEVEL: 'fatal',
  });
});
afterAll(async () => {
  await server.stop();
  await proxy.close();
  await downstream.close();
  await database.drop();
});

describe('while PostgreSQL is down', () => {
  it('answers 503 (never SUCCESS) and is not ready; once it is back the same process stores the retry and forwards it', async () => {
    const warm = signedNotification(starpay.privateKey);
    expect(await postNotification(server.url, 'repayment', warm.body)).toEqual({ status: 200, body: 'SUCCESS' });

    proxy.cut();
    const during = signedNotification(starpay.privateKey);
    const refused = await postNotification(server.url, 'repayment', during.body);
    expect(refused.status).toBe(503);
    expect(refused.body).not.toContain('SUCCESS');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    const lookup = await fetch(`${server.url}/ops/orders/repayment/${warm.ref}`, { headers: { authorization: 'Bearer outage-token' } });
    expect(lookup.status).toBe(503);
    expect(await lookup.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    proxy.restore();
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 200, 15_000, 'ready again');
    expect(await postNotification(server.url, 'repayment', during.body)).toEqual({ status: 200, body: 'SUCCESS' });

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT state FROM orders WHERE order_ref = $1', [during.ref]);
      expect(rows).toEqual([{ state: 'SUCCESS' }]);
    } finally {
      await client.end();
    }
    const delivered = () => downstream.received.some((w) => (JSON.parse(w.body) as { data: { orderRef: string } }).data.orderRef === during.ref);
    await waitFor(delivered, 15_000, 'the retried notification forwarded');
  });
});
