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
 */
export async function migrate(pool: pg.Pool, migrationsDir = MIGRATIONS_DIR, functionsDir = FUNCTIONS_DIR): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map(
      (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows.map(
        (row) => [row.name, row.checksum],
      ),
    );
    const names = (await readdir(migrationsDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    for (const name of names) {
      const sql = await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(name);
      if (previous !== undefined) {
        if (previous !== checksum) throw new Error(`migration ${name} was changed after it was applied`);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [name, checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(name);
    }
    applied.push(...(await applyFunctions(client, functionsDir)));
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return applied;
}

/** Applies the function files whose checksum differs from the one recorded, in one transaction. */
async function applyFunctions(client: pg.PoolClient, functionsDir: string): Promise<string[]> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_functions (
    name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Map(
    (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_functions')).rows.map((row) => [
      row.name,
      row.checksum,
    ]),
  );
  const files = (await readdir(functionsDir)).filter((name) => name.endsWith('.sql')).sort();
  const changed: { name: string; sql: string; checksum: string }[] = [];
  for (const name of files) {
    const sql = await readFile(path.join(functionsDir, name), 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    if (done.get(name) !== checksum) changed.push({ name, sql, checksum });
  }
  if (changed.length === 0) return [];
  await client.query('BEGIN');
  try {
    for (const { name, sql, checksum } of changed) {
      await client.query(sql);
      await client.query(
        `INSERT INTO schema_functions (name, checksum) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
        [name, checksum],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  return changed.map((entry) => `functions/${entry.name}`);
}
