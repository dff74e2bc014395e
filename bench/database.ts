import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/store/migrate.js';

export interface BenchDatabaseServer {
  /** Where the server came from: an embedded one in a temp dir, or DATABASE_URL. */
  source: 'embedded' | 'DATABASE_URL';
  adminUrl: string;
  /** The postmaster's pid when the server runs on this machine (for CPU accounting). */
  postmasterPid: number | undefined;
  /** A fresh, empty database of its own; dropped by `stop()`. */
  createDatabase(label: string, options?: { migrate?: boolean }): Promise<string>;
  settings(): Promise<Record<string, string>>;
  /** CHECKPOINT, so that every phase starts alike (full-page writes follow a checkpoint); best effort. */
  checkpoint(): Promise<void>;
  stop(): Promise<void>;
}

/** DATABASE_URL if set (fresh databases are created on it), else an embedded PostgreSQL in a temp dir. */
export async function startBenchDatabase(databaseUrl: string | undefined): Promise<BenchDatabaseServer> {
  let adminUrl: string;
  let stopServer: () => Promise<void> = async () => {};
  let source: BenchDatabaseServer['source'];
  if (databaseUrl !== undefined && databaseUrl !== '') {
    adminUrl = databaseUrl;
    source = 'DATABASE_URL';
  } else {
    const root = await mkdtemp(path.join(tmpdir(), 'starpay-bench-'));
    const embedded = await startEmbeddedPostgres({ directory: path.join(root, 'postgres'), persistent: false });
    adminUrl = embedded.url;
    source = 'embedded';
    stopServer = async () => {
      await embedded.stop();
      await rm(root, { recursive: true, force: true });
    };
  }

  const created: string[] = [];
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const postmasterPid = await findPostmaster(adminUrl);

  return {
    source,
    adminUrl,
    postmasterPid,
    async createDatabase(label, options = {}) {
      const name = `starpay_bench_${label}_${randomBytes(4).toString('hex')}`;
      await admin(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = withDatabase(adminUrl, name);
      if (options.migrate === true) {
        const pool = new pg.Pool({ connectionString: url, max: 1 });
        try {
          await migrate(pool);
        } finally {
          await pool.end();
        }
      }
      return url;
    },
    async settings() {
      const { rows } = await admin(
        `SELECT name, setting FROM pg_settings WHERE name IN
           ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'max_connections', 'commit_delay')`,
      );
      return Object.fromEntries(rows.map((row: { name: string; setting: string }) => [row.name, row.setting]));
    },
    async checkpoint() {
      await admin('CHECKPOINT').catch(() => {});
    },
    async stop() {
      for (const name of created.splice(0)) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await stopServer();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** The parent of our backend, when it is a local postgres process. */
async function findPostmaster(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0]?.pid;
    if (backend === undefined) return undefined;
    const stat = await readFile(`/proc/${backend}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return undefined;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const comm = await readFile(`/proc/${ppid}/comm`, 'utf8').catch(() => '');
    return comm.startsWith('postgres') ? ppid : undefined;
  } finally {
    await client.end();
  }
}
