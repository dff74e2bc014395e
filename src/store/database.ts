import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

// bigint columns (ids, amounts) come back as strings by default; they fit in a double here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

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
}

export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    // A statement that hangs longer than Starpay waits is worse than a 503 it will retry.
    statement_timeout: 10_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
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
