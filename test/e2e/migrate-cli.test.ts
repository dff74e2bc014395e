import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const MIGRATE_ENTRY = path.resolve('dist/migrate-cli.js');

/** `node dist/migrate-cli.js` with exactly this environment (plus PATH). */
async function runMigrate(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MIGRATE_ENTRY], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('npm run db:migrate', () => {
  it('stops on a configuration error with one line per variable, in words, and exit code 1, no stack trace', async () => {
    const result = await runMigrate({ DATABASE_URL: database.url, PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'invalid configuration: PORT must be a number',
      'invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('applies nothing to a database that is already migrated, and exits 0', async () => {
    const result = await runMigrate({ DATABASE_URL: database.url });
    expect(result).toEqual({ code: 0, stdout: 'nothing to apply\n', stderr: '' });
  });
});
