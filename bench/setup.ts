import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateRsaKeyPair } from '../src/simulator/key-pair.js';
import { startBenchDatabase, type BenchDatabaseServer } from './database.js';
import { startDownstream } from './downstream.js';
import type { BenchKeys } from './notifications.js';
import type { BenchOptions } from './options.js';
import { openInspector } from './outbox.js';
import { startService, type ServiceProcess } from './service.js';

export interface BenchEnvironment {
  database: BenchDatabaseServer;
  downstream: Awaited<ReturnType<typeof startDownstream>>;
  keys: BenchKeys;
  service: ServiceProcess;
  serviceDatabaseUrl: string;
  inspector: Awaited<ReturnType<typeof openInspector>>;
  dataDir: string;
}

const cleanups: (() => Promise<unknown>)[] = [];

/** Runs the registered clean-ups, newest first; each failure is reported and skipped. */
export async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop() as () => Promise<unknown>;
    await cleanup().catch((error: unknown) => process.stderr.write(`clean-up: ${(error as Error).message}\n`));
  }
}

/**
 * PostgreSQL (embedded in a temp dir, or DATABASE_URL), a fresh database for the service, a fast
 * downstream, a Starpay key pair, and the built service with its forwarder on, all on 127.0.0.1.
 */
export async function startEnvironment(options: BenchOptions, log: (line: string) => void): Promise<BenchEnvironment> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'starpay-bench-service-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

  const database = await startBenchDatabase(process.env.DATABASE_URL);
  cleanups.push(() => database.stop());
  log(`postgres: ${database.source}${database.postmasterPid === undefined ? ' (not local: its CPU is not attributed)' : ''}`);

  const downstream = await startDownstream();
  cleanups.push(() => downstream.close());
  const keys = generateRsaKeyPair();

  const serviceDatabaseUrl = await database.createDatabase('service');
  const service = await startService({
    databaseUrl: serviceDatabaseUrl,
    publicKeyPem: keys.publicKeyPem,
    forwardUrls: options.forward ? [downstream.url] : [],
    logLevel: options.logLevel,
    dataDir,
  });
  cleanups.push(() => service.stop());
  log(
    `service: pid ${service.pid} at ${service.url}, LOG_LEVEL=${options.logLevel}, ${options.forward ? `forwarding to ${downstream.url}` : 'NOT forwarding (--no-forward)'}`,
  );

  const inspector = await openInspector(serviceDatabaseUrl);
  cleanups.push(() => inspector.close());
  return { database, downstream, keys, service, serviceDatabaseUrl, inspector, dataDir };
}

/** Stops everything if the bench overruns `limitMs` or is interrupted, so it always ends by itself. */
export function guard(limitMs: number): void {
  const abort = (why: string) => {
    process.stderr.write(`\nbench stopped: ${why}\n`);
    void cleanUp().finally(() => process.exit(1));
  };
  setTimeout(() => abort(`it ran longer than ${Math.round(limitMs / 1000)} s`), limitMs).unref();
  process.once('SIGINT', () => abort('SIGINT'));
  process.once('SIGTERM', () => abort('SIGTERM'));
}
