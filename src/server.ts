import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { ConfigError, loadConfig } from './config/config.js';
import { DataDirBusyError, lockDataDir, type DataDirLock } from './database/data-dir-lock.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './database/embedded-postgres.js';
import { withDeadline } from './net/deadline.js';
import { createDestinations } from './destinations/index.js';
import type { Forwarder } from './forwarder/forwarder.js';
import type { Job } from './jobs/job.js';
import { createLogger } from './logger.js';
import { createProviders, PROVIDER_NAMES } from './providers/index.js';
import { openDatabase, openDirectPool, type Database } from './store/database.js';
import { migrate } from './store/migrate.js';
import { createServices } from './services.js';

// The name from before StarPago joined, kept: renaming it would leave every existing DATA_DIR's data behind.
const EMBEDDED_DATABASE_NAME = 'starpay';
/** The last spans get this long to reach the collector at shutdown. */
const TRACING_FLUSH_MS = 2_000;

/** Set once start-up begins to start things; a failed start-up stops them too (an embedded database above all). */
let stopEverything: (() => Promise<void>) | undefined;
/** The last resort of every exit path: the embedded database stopped, DATA_DIR released. */
let stopDatabaseAndExit: (code: number) => Promise<never> = async (code) => process.exit(code);

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
  // Tracing only with OTEL_EXPORTER_OTLP_ENDPOINT: without it the SDK is never even loaded.
  const tracing = config.tracing === undefined ? undefined : (await import('./telemetry/sdk.js')).startTracing(config.tracing, log);
  if (config.tracing !== undefined)
    log.info({ protocol: config.tracing.protocol, serviceName: config.tracing.serviceName }, 'tracing: spans go to the OTLP endpoint');

  // Without DATABASE_URL this process owns DATA_DIR's embedded database: a second start on the same
  // DATA_DIR stops here, before it writes anything there or touches the running one's database.
  let dataDirLock: DataDirLock | undefined;
  if (config.databaseUrl === undefined) {
    try {
      dataDirLock = await lockDataDir(config.dataDir);
    } catch (error) {
      if (!(error instanceof DataDirBusyError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
  }

  // Keys and destinations first: bad configuration stops start-up before any database work.
  const providers = await createProviders(config, { logger: log, dataDir: config.dataDir, developmentStandIns: !config.production });
  const destinations = createDestinations(config.forward.urls, {
    timeoutMs: config.forward.timeoutMs,
    webhookSecret: config.forward.secret,
    providerNames: PROVIDER_NAMES,
  });
  for (const provider of providers) {
    if (!provider.configured) log.info({ provider: provider.name }, 'provider not configured: its notifications are refused');
  }
  // What a newcomer would otherwise find out by a 401 or a missing webhook.
  if (destinations.length === 0) log.info('FORWARD_URLS is unset: state changes are kept but forwarded nowhere');
  else log.info({ destinations: destinations.map((destination) => destination.id) }, 'forwarding state changes');
  if (config.opsTokens.length === 0 && config.oidc === undefined)
    log.warn('no ops token (OPS_TOKENS, OPS_API_TOKEN) and no single sign-on: /ops and the console refuse everyone');

  // Everything started below is stopped, in reverse, on every exit path this process controls.
  const started: { embedded?: EmbeddedDatabase; db?: Database; app?: FastifyInstance; forwarder?: Forwarder; jobs: Job[] } = { jobs: [] };
  stopDatabaseAndExit = async (code) => {
    await started.embedded?.stop().catch((error: unknown) => log.error({ err: error }, 'embedded PostgreSQL did not stop'));
    await dataDirLock?.release();
    process.exit(code);
  };
  stopEverything = async () => {
    const { app, forwarder, jobs, db } = started;
    // Stop taking requests, claiming deliveries and running jobs; let the in-flight ones finish.
    await Promise.all([app?.close(), forwarder?.stop(), ...jobs.map((job) => job.stop())]);
    await Promise.allSettled(destinations.map((destination) => destination.close()));
    await db?.close();
    // The spans of the drain, too, reach the collector.
    // Bounded: a collector that does not answer must not cost the drain its grace.
    if (tracing !== undefined) {
      await withDeadline(tracing.shutdown(), TRACING_FLUSH_MS).catch((error: unknown) => log.warn({ err: error }, 'spans not exported at shutdown'));
    }
  };
  handleShutdown(config.shutdownGraceMs, log);
  // A destination set up so that it could never accept some events stops start-up, before anything is sent.
  for (const destination of destinations) await destination.checkSetup?.();

  let databaseUrl = config.databaseUrl;
  let directUrl = config.databaseDirectUrl;
  if (databaseUrl === undefined) {
    const directory = path.resolve(config.dataDir, 'postgres');
    const embedded = await startEmbeddedPostgres({ directory, persistent: true, onLog: (line) => log.debug({ line }, 'postgres') });
    started.embedded = embedded;
    databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE_NAME);
    directUrl = databaseUrl;
    log.info({ directory }, 'DATABASE_URL is unset: started an embedded PostgreSQL');
  }

  // Migrations over the direct URL when there is one; over DATABASE_URL they take transaction-scoped locks only.
  const migrationPool = openDirectPool(directUrl ?? databaseUrl, 1, log);
  try {
    const applied = await migrate(migrationPool);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  } finally {
    await migrationPool.end();
  }
  const db = openDatabase(databaseUrl, { logger: log, directUrl });
  started.db = db;
  if (directUrl === undefined) log.info('DATABASE_DIRECT_URL is unset: the forwarder polls instead of listening');

  const { app, forwarder, jobs } = await createServices({ config, db, logger: log, providers, destinations, tracingPlugin: tracing?.plugin });
  started.app = app;
  // The forwarder runs in the same process; with no FORWARD_URLS no delivery is ever written.
  if (forwarder !== undefined) {
    started.forwarder = forwarder;
    await forwarder.start();
  }
  started.jobs.push(...jobs);
  for (const job of jobs) job.start();

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

/**
 * SIGTERM or SIGINT drains (stopEverything), within `graceMs` in all: at the deadline, or on a
 * second signal, the work still in flight is abandoned (deliveries and provider queries are leased,
 * so another worker takes them over once the lease expires; a notification not yet answered is
 * resent by its provider) and the process exits 1. Every path stops the embedded database last.
 * An error nothing caught shuts down the same way, and exits 1.
 */
function handleShutdown(graceMs: number, log: ReturnType<typeof createLogger>): void {
  let draining = false;
  let abandoning = false;
  const abandon = (reason: string) => {
    if (abandoning) return;
    abandoning = true;
    log.warn({ reason }, 'shutdown cut short: work still in flight is left to its lease');
    void stopDatabaseAndExit(1);
  };
  const shutDown = (facts: { signal?: string; err?: unknown }, code: number) => {
    if (draining) {
      abandon(facts.signal === undefined ? 'another error while draining' : `second ${facts.signal}`);
      return;
    }
    draining = true;
    if (facts.err !== undefined) log.error({ err: facts.err }, 'shutting down after an error');
    else log.info({ signal: facts.signal, graceMs }, 'shutting down');
    setTimeout(() => abandon(`SHUTDOWN_GRACE_MS (${graceMs} ms) passed`), graceMs);
    void (stopEverything?.() ?? Promise.resolve()).then(
      () => {
        if (!abandoning) void stopDatabaseAndExit(code);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        abandon('shutdown failed');
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => shutDown({ signal }, 0));
  process.on('uncaughtException', (error) => shutDown({ err: error }, 1));
  process.on('unhandledRejection', (error) => shutDown({ err: error }, 1));
}

main().catch(async (error: unknown) => {
  process.stderr.write(`start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopEverything?.().catch(() => {});
  await stopDatabaseAndExit(1);
});
