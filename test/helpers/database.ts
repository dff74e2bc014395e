import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { adminQuery, withDatabase } from './global-setup.js';

export interface TestDatabase {
  name: string;
  /** What the service gets as DATABASE_URL: through PgBouncer under `npm run test:pgbouncer`. */
  url: string;
  /** A direct URL (DATABASE_DIRECT_URL): the same as `url` unless a pooler is in between. */
  directUrl: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('databaseAdminUrl');
  const name = `starpay_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  const pooler = inject('databasePoolerUrl');
  return {
    name,
    url: withDatabase(pooler === '' ? adminUrl : pooler, name),
    directUrl: withDatabase(adminUrl, name),
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
