import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { migrate } from '../../src/store/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server's URL with the right to create databases. */
    databaseAdminUrl: string;
    /** A migrated database each test file clones. */
    templateDatabase: string;
  }
}

interface Server {
  adminUrl: string;
  source: string;
  stop(): Promise<void>;
}

/**
 * One PostgreSQL for the whole run: TEST_DATABASE_URL or DATABASE_URL if set, else a container
 * when a Docker engine answers, else embedded PostgreSQL binaries.
 */
async function resolveServer(): Promise<Server> {
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (url !== undefined && url !== '') return { adminUrl: url, source: 'environment', stop: async () => {} };

  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    return { adminUrl: container.getConnectionUri(), source: 'testcontainers', stop: async () => void (await container.stop()) };
  }

  const parent = await mkdtemp(path.join(tmpdir(), 'receiver-test-'));
  const embedded = await startEmbeddedPostgres({ directory: path.join(parent, 'postgres'), persistent: false });
  return {
    adminUrl: embedded.url,
    source: 'embedded',
    stop: async () => {
      await embedded.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5_000).unref());
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await resolveServer();
  const templateDatabase = `receiver_template_${process.pid}`;
  await adminQuery(server.adminUrl, `DROP DATABASE IF EXISTS ${templateDatabase}`);
  await adminQuery(server.adminUrl, `CREATE DATABASE ${templateDatabase}`);
  const pool = new pg.Pool({ connectionString: withDatabase(server.adminUrl, templateDatabase), max: 1 });
  await migrate(pool);
  await pool.end();

  process.stdout.write(`test database: ${server.source}\n`);
  project.provide('databaseAdminUrl', server.adminUrl);
  project.provide('templateDatabase', templateDatabase);
  return async () => {
    await adminQuery(server.adminUrl, `DROP DATABASE IF EXISTS ${templateDatabase}`).catch(() => {});
    await server.stop();
  };
}

export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
