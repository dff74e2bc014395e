import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Logger } from 'pino';
import { PrismaClient } from '../generated/prisma/client.js';

/**
 * bigint columns (ids, amounts) come back as strings by default; they fit in a double here. Set on
 * this pool only, not in pg's process-wide table, so other clients in the process keep pg's default.
 * (Prisma passes its own parsers with every query and is unaffected either way.)
 */
function poolTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  return types;
}

export interface Database {
  /** Raw SQL for the hot path and the outbox (DATABASE_URL: possibly a transaction-mode pooler). */
  pool: pg.Pool;
  /** Typed queries for the ops API. */
  prisma: PrismaClient;
  /**
   * Direct connections (DATABASE_DIRECT_URL) for LISTEN, which a transaction-mode pooler cannot
   * carry; undefined without a direct URL, and then the forwarder polls.
   */
  listenPool: pg.Pool | undefined;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** DATABASE_DIRECT_URL: a direct (not pooled) URL for LISTEN. */
  directUrl?: string;
  /** Pool size; the default suits a 2-core machine sharing its cores with PostgreSQL. */
  max?: number;
  /** Where a lost idle connection is reported (warn); nowhere when absent. */
  logger?: Pick<Logger, 'warn'>;
}

/** Longest wait for any statement's answer over DATABASE_URL. */
export const QUERY_TIMEOUT_MS = 10_000;

/**
 * Nothing here relies on session state, so DATABASE_URL may be PgBouncer in transaction mode: no
 * startup parameters (PgBouncer refuses a `statement_timeout` in the startup packet), no named
 * prepared statements (the next statement may run on another server connection), no SET, no
 * session advisory locks. The statement bound is the client's: a statement that hangs longer than
 * Starpay waits is worse than a 503 it will retry, and a connection that silently died (a failover
 * that sends no reset) is dropped after the same wait instead of holding its caller for ever.
 */
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    types: poolTypes(),
  });
  // An idle client losing its connection (database restart) must not crash the process; the pool
  // drops that client and the next query opens a new one, so this is worth a warning, not more.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'idle database connection lost'));
  guardCheckedOutClients(pool);
  const listenPool = options.directUrl === undefined ? undefined : openDirectPool(options.directUrl, 2, options.logger, LISTEN_APPLICATION_NAME);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    prisma,
    listenPool,
    async close() {
      await prisma.$disconnect();
      await Promise.all([pool.end(), listenPool?.end()]);
    },
  };
}

/** How the LISTEN connections show in pg_stat_activity. */
export const LISTEN_APPLICATION_NAME = 'receiver-listen';

/**
 * A small pool on a direct URL: LISTEN connections, or the migrator (DATABASE_DIRECT_URL, or
 * DATABASE_URL without one: then without an application name, which is a startup parameter).
 * No query timeout: a migration may take its time.
 */
export function openDirectPool(url: string, max: number, logger?: Pick<Logger, 'warn'>, applicationName?: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    types: poolTypes(),
    ...(applicationName === undefined ? {} : { application_name: applicationName }),
  });
  pool.on('error', (error) => logger?.warn({ err: error }, 'idle direct database connection lost'));
  guardCheckedOutClients(pool);
  return pool;
}

/**
 * pg emits 'error' on a client whose connection ends between two statements, and the pool listens
 * only while the client is idle: a failover that ends a connection checked out for a transaction
 * would throw from an event with no listener and take the process down. Every client gets a
 * listener for its whole life; the caller's next statement fails instead, and the pool drops the
 * client (it is no longer queryable) when it comes back.
 */
function guardCheckedOutClients(pool: pg.Pool): void {
  pool.on('connect', (client) => client.on('error', () => {}));
}

export async function isDatabaseReady(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
