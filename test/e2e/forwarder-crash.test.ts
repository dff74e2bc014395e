import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { startServerProcess } from '../helpers/server-process.js';
import { generateTestKeyPair, requestFields, signedBody } from '../helpers/starpay.js';

let database: TestDatabase;
let downstream: FakeDownstream;
beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream(() => ({ status: 503 }));
});
afterAll(async () => {
  await downstream.close();
  await database.drop();
});

describe('after a kill -9', () => {
  it('every event committed before the crash is delivered once the service restarts', async () => {
    const starpay = generateTestKeyPair();
    const env = {
      DATABASE_URL: database.url,
      STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
      FORWARD_URLS: downstream.url,
      FORWARD_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      FORWARD_BACKOFF_MS: '100',
      // Short attempts mean short leases: deliveries caught mid-attempt by the kill are reclaimable in ~7 s.
      FORWARD_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'warn',
    };
    const first = await startServerProcess(env);
    const refs = Array.from({ length: 10 }, (_, i) => `crash-${Date.now()}-${i}`);
    await Promise.all(
      refs.map(async (ref) => {
        const response = await fetch(`${first.url}/notify/starpay/disbursement`, {
          method: 'POST',
          body: signedBody(requestFields({ originalMsgId: ref }), starpay.privateKey),
        });
        expect(await response.text()).toBe('SUCCESS');
      }),
    );
    // Downstream is failing, so deliveries are pending (some mid-attempt) when the process dies.
    await waitFor(() => downstream.received.length > 0, 10_000, 'a first attempt');
    expect(await first.stop('SIGKILL')).toBeNull();

    downstream.setReply(() => ({ status: 200 }));
    const second = await startServerProcess(env);
    try {
      const delivered = () => new Set(downstream.received.filter((w) => w.status === 200).map((w) => w.body)).size;
      await waitFor(() => delivered() === refs.length, 60_000, 'every event delivered');
      const orderRefs = downstream.received
        .filter((w) => w.status === 200)
        .map((w) => (JSON.parse(w.body) as { data: { orderRef: string } }).data.orderRef);
      expect(new Set(orderRefs)).toEqual(new Set(refs));
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });
});
