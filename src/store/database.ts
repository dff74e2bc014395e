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
  /** Raw SQL for the hot path and the outbox. */
  pool: pg.Pool;
  /** Typed queries for the ops API. */
  prisma: PrismaClient;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Pool size; the default suits a 2-core machine sharing its cores with PostgreSQL. */
  max?: number;
  /** Where a lost idle connection is reported (warn); nowhere when absent. */
  logger?: Pick<Logger, 'warn'>;
}

export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    // A statement that hangs longer than Starpay waits is worse than a 503 it will retry.
    statement_timeout: 10_000,
    types: poolTypes(),
  });
  // An idle client losing its connection (database restart) must not crash the process; the pool
  // drops that client and the next query opens a new one, so this is worth a warning, not more.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'idle database connection lost'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    prisma,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export async function isDatabaseReady(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
