import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** prisma/migrations, reached the same way from src/store and dist/store. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
/** prisma/functions: one file per SQL function, each `CREATE OR REPLACE`. */
export const FUNCTIONS_DIR = fileURLToPath(new URL('../../prisma/functions', import.meta.url));

const MIGRATION_LOCK = 7_391_002_211; // any constant: serialises replicas that start together

/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in name order, each in its own
 * transaction, recording them in schema_migrations. A changed, already applied file is an error.
 * Then (re)applies every prisma/functions/*.sql whose text changed since it was last applied: a
 * function has one source file, not a copy pasted into each migration that changes it.
 *
 * Replicas starting together are serialised by a transaction-scoped advisory lock taken first in
 * each transaction, which then reads what is applied: a session lock would outlive its transaction
 * on whichever server connection a transaction-mode pooler lent, and lock nothing for the next one.
 */
export async function migrate(pool: pg.Pool, migrationsDir = MIGRATIONS_DIR, functionsDir = FUNCTIONS_DIR): Promise<string[]> {
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const applied: string[] = [];
  const client = await pool.connect();
  try {
    for (const name of names) {
      const sql = await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const done = await inLockedTransaction(client, async () => {
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        const { rows } = await client.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE name = $1', [name]);
        const previous = rows[0]?.checksum;
        if (previous !== undefined) {
          if (previous !== checksum) throw new Error(`migration ${name} was changed after it was applied`);
          return false;
        }
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [name, checksum]);
        return true;
      });
      if (done) applied.push(name);
    }
    applied.push(...(await applyFunctions(client, functionsDir)));
    client.release();
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
  return applied;
}

/** BEGIN, the migration lock, `work`, COMMIT (ROLLBACK when it throws). */
async function inLockedTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Applies the function files whose checksum differs from the one recorded, in one transaction. */
async function applyFunctions(client: pg.PoolClient, functionsDir: string): Promise<string[]> {
  const files = (await readdir(functionsDir)).filter((name) => name.endsWith('.sql')).sort();
  const sources = await Promise.all(
    files.map(async (name) => {
      const sql = await readFile(path.join(functionsDir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
  return inLockedTransaction(client, async () => {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_functions (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map(
      (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_functions')).rows.map((row) => [row.name, row.checksum]),
    );
    const changed = sources.filter((source) => done.get(source.name) !== source.checksum);
    // Functions call each other whatever their files' order: first every changed file with body
    // checks off (as pg_dump restores), then again with them on, so that a broken body stops the
    // migration here rather than at its first call. Each file can be re-run (CREATE OR REPLACE).
    await client.query('SET LOCAL check_function_bodies = off');
    for (const { sql } of changed) await client.query(sql);
    await client.query('SET LOCAL check_function_bodies = on');
    for (const { name, sql, checksum } of changed) {
      await client.query(sql);
      await client.query(
        `INSERT INTO schema_functions (name, checksum) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
        [name, checksum],
      );
    }
    return changed.map((entry) => `functions/${entry.name}`);
  });
}
