import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { startServerProcess } from '../helpers/server-process.js';
import { startTcpProxy, targetOf } from '../helpers/tcp-proxy.js';

let database: TestDatabase;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startTcpProxy(targetOf(database.url));
});
afterAll(async () => {
  await proxy.close();
  await database.drop();
});

describe('SIGTERM during traffic', () => {
  it('answers every request already in flight, then exits 0', async () => {
    const starpay = generateRsaKeyPair();
    const server = await startServerProcess({
      DATABASE_URL: proxy.rewrite(database.url),
      STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
      LOG_LEVEL: 'fatal',
    });
    // A slow database keeps the requests in flight when the signal arrives.
    proxy.setLatency(300);
    const notifications = Array.from({ length: 20 }, () => signedNotification(starpay.privateKey));
    const replies = Promise.all(notifications.map((n) => postNotification(server.url, 'repayment', n.body)));
    // Long enough for the connections to be accepted, far shorter than a database round trip now.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const exitCode = server.stop('SIGTERM');

    expect((await replies).map((reply) => reply.body)).toEqual(notifications.map(() => 'SUCCESS'));
    expect(await exitCode).toBe(0);
    proxy.setLatency(0);
  });
});
