/**
 * `npx tsx bench/sizing.ts [count]`: rows and bytes per notification, measured. Sends `count`
 * Starpay notifications (one SUCCESS per order, forwarded to one webhook destination and delivered)
 * through the real app, then reports each table's rows and size (heap, indexes and TOAST, after
 * VACUUM FULL) per notification, before and after the retention purge. DATABASE_URL: a server to
 * create a scratch database on; unset: an embedded PostgreSQL.
 */
import { createServices } from '../src/services.js';
import { loadConfig } from '../src/config/config.js';
import { createDestinations } from '../src/destinations/index.js';
import { createLogger } from '../src/logger.js';
import { createProviders } from '../src/providers/index.js';
import { generateRsaKeyPair } from '../src/simulator/key-pair.js';
import { openDatabase } from '../src/store/database.js';
import { purgeBatch } from '../src/store/retention.js';
import { startBenchDatabase } from './database.js';
import { startDownstream } from './downstream.js';
import { signNotifications } from './notifications.js';

const COUNT = Number(process.argv[2] ?? 20_000);
const TABLES = ['notifications', 'orders', 'events', 'deliveries', 'delivery_attempts', 'provider_queries'];
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const server = await startBenchDatabase(process.env.DATABASE_URL);
const downstream = await startDownstream();
const url = await server.createDatabase('sizing', { migrate: true });
const keys = generateRsaKeyPair();
const config = loadConfig({
  DATABASE_URL: url,
  STARPAY_PUBLIC_KEYS: keys.publicKeyPem,
  FORWARD_URLS: downstream.url,
  FORWARD_SECRET: SECRET,
  LOG_LEVEL: 'silent',
});
const logger = createLogger('silent');
const db = openDatabase(url);
const providers = await createProviders(config, { logger, dataDir: config.dataDir, developmentStandIns: false });
const destinations = createDestinations(config.forward.urls, { timeoutMs: 10_000, webhookSecret: SECRET });
const { app, forwarder: built } = await createServices({ config, db, providers, destinations, logger });
const forwarder = built as NonNullable<typeof built>;

try {
  const notifications = signNotifications(keys, COUNT, 'size');
  for (let i = 0; i < notifications.length; i += 64) {
    await Promise.all(
      notifications.slice(i, i + 64).map(async (notification) => {
        const reply = await app.inject({ method: 'POST', url: notification.path, payload: notification.body, headers: { 'content-type': 'application/json' } });
        if (reply.body !== 'SUCCESS') throw new Error(`reply ${reply.statusCode} ${reply.body}`);
      }),
    );
  }
  await forwarder.start();
  for (;;) {
    const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'");
    if (rows[0]?.n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await forwarder.stop();
  const before = await measure();
  for (;;) {
    const batch = await purgeBatch(db.pool, { rawBodyMs: 1, attemptLogMs: 1 });
    if (!batch.busy && batch.rawBodies === 0 && batch.deliveries === 0) break;
  }
  const after = await measure();
  process.stdout.write(`${COUNT} notifications, one destination, every delivery delivered once\n\n`);
  process.stdout.write('| table | rows per notification | bytes per notification | after the purge |\n|---|---|---|---|\n');
  for (const table of [...TABLES, 'total']) {
    const b = before.get(table) as { rows: number; bytes: number };
    const a = after.get(table) as { rows: number; bytes: number };
    process.stdout.write(`| ${table} | ${(b.rows / COUNT).toFixed(2)} | ${Math.round(b.bytes / COUNT)} | ${Math.round(a.bytes / COUNT)} |\n`);
  }
} finally {
  await app.close();
  await Promise.all(destinations.map((destination) => destination.close()));
  await db.close();
  await downstream.close();
  await server.stop();
}

async function measure(): Promise<Map<string, { rows: number; bytes: number }>> {
  const sizes = new Map<string, { rows: number; bytes: number }>();
  let rows = 0;
  let bytes = 0;
  for (const table of TABLES) {
    await db.pool.query(`VACUUM FULL ${table}`);
    const { rows: result } = await db.pool.query<{ rows: number; bytes: number }>(
      `SELECT (SELECT count(*) FROM ${table})::int AS rows, pg_total_relation_size('${table}')::float8 AS bytes`,
    );
    const measured = result[0] as { rows: number; bytes: number };
    sizes.set(table, measured);
    rows += measured.rows;
    bytes += measured.bytes;
  }
  sizes.set('total', { rows, bytes });
  return sizes;
}
