import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp, ingestTargetsFor, metricsFor } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './database/embedded-postgres.js';
import { createDestinations } from './destinations/index.js';
import { createForwarder, type Forwarder } from './forwarder/forwarder.js';
import type { Job } from './jobs/job.js';
import { pruneNotificationsJob } from './jobs/prune-notifications.js';
import { retireDestinationsJob } from './jobs/retire-destinations.js';
import { createReconciler } from './jobs/reconcile.js';
import { createLogger } from './logger.js';
import { createProviders, PROVIDER_NAMES, QUERY_TIMEOUT_MS } from './providers/index.js';
import { loadStarpayKeys } from './providers/starpay/load-keys.js';
import { loadMerchantPrivateKey } from './providers/starpay/merchant-key.js';
import { openDatabase, type Database } from './store/database.js';
import { migrate } from './store/migrate.js';

const EMBEDDED_DATABASE_NAME = 'starpay';

/** Set once start-up begins to start things; a failed start-up stops them too (an embedded database above all). */
let stopEverything: (() => Promise<void>) | undefined;

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

  // Keys and destinations first: bad configuration stops start-up before any database work.
  const starpay = await loadStarpayKeys(config);
  if (starpay.devPrivateKeyFile !== undefined) {
    log.warn({ privateKeyFile: starpay.devPrivateKeyFile }, 'no Starpay public key configured: using a generated development key pair');
  }
  const starpayMerchantKey = await loadMerchantPrivateKey({
    key: config.starpayApi?.merchantPrivateKey,
    keyFile: config.starpayApi?.merchantPrivateKeyFile,
  });
  const providers = createProviders({ config, starpayKeys: starpay.keys, starpayMerchantKey, logger: log });
  const destinations = createDestinations(config.forward.urls, { timeoutMs: config.forward.timeoutMs, webhookSecret: config.forward.secret, providerNames: PROVIDER_NAMES });
  for (const provider of providers) {
    if (!provider.configured) log.info({ provider: provider.name }, 'provider not configured: its notifications are refused');
  }

  // Everything started below is stopped, in reverse, on every exit path this process controls.
  const started: { embedded?: EmbeddedDatabase; db?: Database; app?: FastifyInstance; forwarder?: Forwarder; jobs: Job[] } = { jobs: [] };
  stopEverything = async () => {
    const { app, forwarder, jobs, db, embedded } = started;
    // Stop taking requests, claiming deliveries and running jobs; let the in-flight ones finish.
    await Promise.all([app?.close(), forwarder?.stop(), ...jobs.map((job) => job.stop())]);
    await Promise.allSettled(destinations.map((destination) => destination.close()));
    await db?.close();
    await embedded?.stop();
  };
  // Long enough for the slowest in-flight work to end on its own: a delivery attempt, or a provider
  // query (a token request and a retry after a 401 or a repeated msgId: four calls at most).
  const drainMs = Math.max(20_000, config.forward.timeoutMs + 5_000, 4 * QUERY_TIMEOUT_MS + 5_000);
  closeWithGrace({ delay: drainMs, logger: log }, async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down');
    await stopEverything?.();
  });

  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    const directory = path.resolve(config.dataDir, 'postgres');
    const embedded = await startEmbeddedPostgres({ directory, persistent: true, onLog: (line) => log.debug({ line }, 'postgres') });
    started.embedded = embedded;
    databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE_NAME);
    log.info({ directory }, 'DATABASE_URL is unset: started an embedded PostgreSQL');
  }

  const db = openDatabase(databaseUrl, { logger: log });
  started.db = db;
  const applied = await migrate(db.pool);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');

  // One registry for the routes, the forwarder and the jobs.
  const destinationIds = destinations.map((destination) => destination.id);
  const metrics = metricsFor(db, destinationIds);
  const reconciler = createReconciler({
    pool: db.pool,
    providers,
    scheduleMs: config.reconcileScheduleMs,
    targetsFor: ingestTargetsFor(config, destinationIds),
    logger: log.child({ component: 'reconcile' }),
    metrics,
  });
  const app = await buildApp({ config, db, providers, destinations: destinationIds, logger: log, metrics, reconciler });
  started.app = app;

  // The forwarder runs in the same process; with no FORWARD_URLS no delivery is ever written.
  if (destinations.length > 0) {
    started.forwarder = createForwarder({ pool: db.pool, destinations, forward: config.forward, breaker: config.breaker, logger: log.child({ component: 'forwarder' }), metrics });
    await started.forwarder.start();
  }
  const jobLog = log.child({ component: 'jobs' });
  const configured = destinations.map((destination, index) => ({ url: config.forward.urls[index] as string, id: destination.id }));
  started.jobs.push(pruneNotificationsJob(db.pool, jobLog), retireDestinationsJob(db.pool, configured, jobLog), reconciler.job);
  for (const job of started.jobs) job.start();

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

main().catch(async (error: unknown) => {
  process.stderr.write(`start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopEverything?.().catch(() => {});
  process.exit(1);
});
