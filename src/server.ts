import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import pg from 'pg';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './database/embedded-postgres.js';
import { createForwarder, type Forwarder } from './forwarder/forwarder.js';
import { createHttpSender } from './forwarder/http-sender.js';
import { createLogger } from './logger.js';
import { createMetrics } from './plugins/metrics.js';
import { loadStarpayKeys } from './starpay/load-keys.js';
import { openDatabase } from './store/database.js';
import { pruneRejections } from './store/ingest.js';
import { migrate } from './store/migrate.js';
import { countPendingDeliveries } from './store/outbox.js';

const REJECTIONS_KEPT = 10_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const EMBEDDED_DATABASE_NAME = 'starpay';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);

  // Keys first: a bad or weak key stops start-up before any database work.
  const starpay = await loadStarpayKeys(config);
  if (starpay.devPrivateKeyFile !== undefined) {
    log.warn({ privateKeyFile: starpay.devPrivateKeyFile }, 'no Starpay public key configured: using a generated development key pair');
  }

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    const directory = path.resolve(config.dataDir, 'postgres');
    embedded = await startEmbeddedPostgres({ directory, persistent: true, onLog: (line) => log.debug({ line }, 'postgres') });
    databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE_NAME);
    log.info({ directory }, 'DATABASE_URL is unset: started an embedded PostgreSQL');
  }

  const db = openDatabase(databaseUrl);
  const applied = await migrate(db.pool);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');

  // One registry for the routes and the forwarder.
  const metrics = createMetrics({ backlog: () => countPendingDeliveries(db.pool) });
  const app = await buildApp({ config, db, starpayKeys: starpay.keys, logger: log, metrics });

  // The forwarder runs in the same process; with no FORWARD_URLS no delivery is ever written.
  let forwarder: Forwarder | undefined;
  const sender = createHttpSender(config.forward.timeoutMs);
  if (config.forward.secret !== undefined && config.forward.urls.length > 0) {
    forwarder = createForwarder({
      pool: db.pool,
      forward: { ...config.forward, secret: config.forward.secret },
      send: sender.send,
      logger: log.child({ component: 'forwarder' }),
      metrics,
    });
    forwarder.start();
  }

  const pruning = setInterval(() => {
    pruneRejections(db.pool, REJECTIONS_KEPT).catch((error: unknown) => log.warn({ err: error }, 'pruning rejections failed'));
  }, PRUNE_EVERY_MS);
  pruning.unref();

  closeWithGrace({ delay: 20_000, logger: log }, async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down');
    clearInterval(pruning);
    // Stop taking requests and claiming deliveries; let the in-flight ones of both finish.
    await Promise.all([app.close(), forwarder?.stop()]);
    await sender.close();
    await db.close();
    await embedded?.stop();
  });

  await app.listen({ port: config.port, host: config.host });
}

/** Creates the service's database in the embedded cluster on first start; returns its URL. */
async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

main().catch((error: unknown) => {
  process.stderr.write(`start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
