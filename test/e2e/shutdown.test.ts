import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { sendNotification, signedNotification } from '../helpers/notify-client.js';
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
      LOG_LEVEL: 'info',
    });
    // A slow database keeps the requests in flight when the signal arrives.
    proxy.setLatency(300);
    const notifications = Array.from({ length: 20 }, () => signedNotification(starpay.privateKey));
    const requests = notifications.map((n) => sendNotification(server.url, 'repayment', n.body));
    const replies = Promise.all(requests.map((request) => request.reply));
    // The requests are in flight once the service has read them. All are written first; a
    // /healthz answered on a later connection (not a kept-alive one) then means the service has accepted and read the
    // earlier ones (a fixed wait is not enough on a loaded machine). Far shorter than a database
    // round trip now.
    await Promise.all(requests.map((request) => request.sent));
    expect(await healthzOnANewConnection(server.url)).toBe(200);
    const exitCode = server.stop('SIGTERM');

    expect(
      (await replies).map((reply) => reply.body),
      server.output(),
    ).toEqual(notifications.map(() => 'SUCCESS'));
    expect(await exitCode).toBe(0);
    proxy.setLatency(0);
  });
});

function healthzOnANewConnection(baseUrl: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(`${baseUrl}/healthz`, { agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode));
      })
      .on('error', reject);
  });
}
