import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import { createForwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { openDatabase, openDirectPool } from '../../src/store/database.js';
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { FORWARD_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { adminQuery, withDatabase } from '../helpers/global-setup.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const pooler = inject('databasePoolerUrl');

describe('through PgBouncer in transaction mode', () => {
  it('runs under `npm run test:pgbouncer` (TEST_PGBOUNCER=1), with the test databases behind the pooler', () => {
    expect(pooler).not.toBe('');
  });

  it('refuses a startup parameter such as statement_timeout, as a production PgBouncer does', async () => {
    const client = new pg.Client({ connectionString: withDatabase(pooler, inject('templateDatabase')), statement_timeout: 1_000 });
    await expect(client.connect()).rejects.toThrow(/unsupported startup parameter/);
    await client.end().catch(() => {});
  });

  it('applies every migration over the pooler, with two replicas migrating an empty database at once', async () => {
    const name = `starpay_pooled_${randomBytes(6).toString('hex')}`;
    await adminQuery(inject('databaseAdminUrl'), `CREATE DATABASE ${name}`);
    const pools = [0, 1].map(() => openDirectPool(withDatabase(pooler, name), 1));
    try {
      const [first, second] = await Promise.all(pools.map((pool) => migrate(pool)));
      const migrations = readdirSync(MIGRATIONS_DIR).length;
      const applied = [...(first ?? []), ...(second ?? [])].filter((entry) => !entry.startsWith('functions/'));
      expect(applied).toHaveLength(migrations);
      expect(new Set(applied).size).toBe(migrations);
      const { rows } = await (pools[0] as pg.Pool).query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0]?.n).toBe(migrations);
      expect(await migrate(pools[0] as pg.Pool)).toEqual([]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
      await adminQuery(inject('databaseAdminUrl'), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  describe('without DATABASE_DIRECT_URL', () => {
    let t: TestApp;
    let downstream: FakeDownstream;
    beforeAll(async () => {
      downstream = await startFakeDownstream();
      t = await startTestApp({ FORWARD_URLS: downstream.url, FORWARD_SECRET, FORWARD_BACKOFF_MS: '50' });
    });
    afterAll(async () => {
      await t.close();
      await downstream.close();
    });

    it("another replica's forwarder, polling, delivers what this one committed", async () => {
      const other = openDatabase(t.database.url);
      expect(other.listenPool).toBeUndefined();
      const destinations = createDestinations([downstream.url], { timeoutMs: 2_000, webhookSecret: FORWARD_SECRET });
      const forwarder = createForwarder({ pool: other.pool, destinations, forward: t.config.forward, logger: createLogger('silent'), pollMs: 200 });
      await forwarder.start();
      try {
        const fields = requestFields();
        const reply = await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, t.starpay.privateKey) });
        expect(reply.body).toBe('SUCCESS');
        await waitFor(() => downstream.received.some((w) => w.body.includes(String(fields.originalMsgId))), 10_000, 'the webhook');
      } finally {
        await forwarder.stop();
        await Promise.all(destinations.map((destination) => destination.close()));
        await other.close();
      }
    });
  });
});
