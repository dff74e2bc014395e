import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { signText } from '../../src/simulator/starpay-envelope.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification } from '../helpers/notify-client.js';
import { startServerProcess } from '../helpers/server-process.js';
import { requestFields } from '../helpers/starpay.js';

let database: TestDatabase;
let downstream: FakeDownstream;
beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream(({ count }) => ({ status: count === 1 ? 500 : 200 }));
});
afterAll(async () => {
  await downstream.close();
  await database.drop();
});

describe('the logs', () => {
  it('never contain a signature, token, secret, private key or unverified body, even at trace level', async () => {
    const starpay = generateRsaKeyPair();
    const forger = generateRsaKeyPair();
    const opsToken = 'ops-token-that-must-not-leak-5f2c';
    const secretBytes = 'c2VjcmV0LWJ5dGVzLXRoYXQtbXVzdC1ub3QtbGVhaw==';
    const server = await startServerProcess({
      DATABASE_URL: database.url,
      STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
      OPS_API_TOKEN: opsToken,
      FORWARD_URLS: downstream.url,
      FORWARD_SECRET: `whsec_${secretBytes}`,
      FORWARD_BACKOFF_MS: '50',
      LOG_LEVEL: 'trace',
    });

    const genuineText = JSON.stringify(requestFields());
    const genuineSignature = signText(genuineText, starpay.privateKey);
    const forgedMarker = 'forged-body-marker-7d1e';
    const forgedText = JSON.stringify(requestFields({ attach: forgedMarker }));
    const forgedSignature = signText(forgedText, forger.privateKey);
    try {
      await postNotification(server.url, 'repayment', `{"request":${genuineText},"signature":"${genuineSignature}"}`);
      await postNotification(server.url, 'repayment', `{"request":${forgedText},"signature":"${forgedSignature}"}`);
      await postNotification(server.url, 'repayment', `{"request":{"attach":"${forgedMarker}"`);
      await fetch(`${server.url}/ops/orders/repayment/x`, { headers: { authorization: `Bearer ${opsToken}` } });
      await fetch(`${server.url}/ops/orders/repayment/x`, { headers: { authorization: `Bearer ${opsToken}-wrong` } });
      await waitFor(() => downstream.received.some((w) => w.status === 200), 10_000, 'a delivery after a failed attempt');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    const output = server.output();
    expect(output).toContain('notification refused');
    const privateKeyPem = starpay.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const privateKeyLine = privateKeyPem.split('\n')[1] ?? 'missing';
    for (const secret of [genuineSignature, forgedSignature, opsToken, secretBytes, privateKeyLine, forgedMarker]) {
      expect(output).not.toContain(secret);
    }
    // Signatures are long; not even a recognisable slice of one may appear.
    expect(output).not.toContain(genuineSignature.slice(0, 24));
  });
});
