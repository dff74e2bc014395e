import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { LISTEN_APPLICATION_NAME, openDirectPool } from '../../src/store/database.js';
import { FORWARD_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';
import { startTcpProxy, targetOf } from '../helpers/tcp-proxy.js';

let t: TestApp;
let downstream: FakeDownstream;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;

beforeAll(async () => {
  downstream = await startFakeDownstream();
  t = await startTestApp({ FORWARD_URLS: downstream.url, FORWARD_SECRET });
  proxy = await startTcpProxy(targetOf(t.database.directUrl));
});
afterAll(async () => {
  await t.close();
  await proxy.close();
  await downstream.close();
});

/**
 * A forwarder that polls only once a minute: a delivery going out within seconds of its commit
 * was woken by LISTEN. Another process commits it (a second pool), so no in-process wake-up helps.
 */
async function withListeningForwarder(check: (listenPool: pg.Pool) => Promise<void>): Promise<void> {
  const listenPool = openDirectPool(proxy.rewrite(t.database.directUrl), 2, undefined, LISTEN_APPLICATION_NAME);
  const destinations = createDestinations([downstream.url], { timeoutMs: 2_000, webhookSecret: FORWARD_SECRET });
  const forwarder: Forwarder = createForwarder({
    pool: t.db.pool,
    listenPool,
    destinations,
    forward: t.config.forward,
    logger: createLogger('silent'),
    pollMs: 60_000,
    listenCheckMs: 300,
  });
  await forwarder.start();
  try {
    await check(listenPool);
  } finally {
    await forwarder.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
    await listenPool.end();
  }
}

async function listeners(): Promise<number[]> {
  const { rows } = await t.db.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [
    LISTEN_APPLICATION_NAME,
  ]);
  return rows.map((row) => row.pid);
}

/** A notification committed by another service process (its own app and pool). */
async function notifyFromElsewhere(): Promise<string> {
  const other = await startTestApp({ DATABASE_URL: t.database.url, FORWARD_URLS: downstream.url, FORWARD_SECRET }, { starpay: t.starpay });
  try {
    const fields = requestFields();
    const reply = await other.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });
    expect(reply.body).toBe('SUCCESS');
    return String(fields.originalMsgId);
  } finally {
    await other.close();
  }
}

const delivered = (orderRef: string) => () => downstream.received.some((webhook) => webhook.body.includes(orderRef));

describe('the forwarder LISTEN connection', () => {
  it('is replaced when its backend is terminated, and wakes the forwarder again', async () => {
    await withListeningForwarder(async () => {
      await waitFor(async () => (await listeners()).length === 1, 10_000, 'the LISTEN connection');
      const [before] = await listeners();
      await t.db.pool.query('SELECT pg_terminate_backend($1)', [before]);
      await waitFor(
        async () => {
          const now = await listeners();
          return now.length === 1 && now[0] !== before;
        },
        10_000,
        'a new LISTEN connection',
      );
      const ref = await notifyFromElsewhere();
      await waitFor(delivered(ref), 10_000, 'the delivery, woken by LISTEN');
    });
  });

  it('is replaced when it silently stops answering (no error, no reset), found by its periodic check', async () => {
    await withListeningForwarder(async () => {
      await waitFor(async () => (await listeners()).length === 1, 10_000, 'the LISTEN connection');
      const [before] = await listeners();
      // The open connection carries nothing from now on; new connections work.
      proxy.freeze();
      await waitFor(async () => (await listeners()).some((pid) => pid !== before), 15_000, 'a new LISTEN connection');
      const ref = await notifyFromElsewhere();
      await waitFor(delivered(ref), 10_000, 'the delivery, woken by the new LISTEN');
    });
  });
});
