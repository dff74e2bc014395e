import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/net/free-port.js';

export interface Pgbouncer {
  /** `url` (a PostgreSQL URL) with its host and port replaced by PgBouncer's. */
  rewrite(url: string): string;
  stop(): Promise<void>;
}

/** Debian's package puts it in /usr/sbin, which a non-root PATH may lack. */
function pgbouncerBinary(): string {
  for (const candidate of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) if (existsSync(candidate)) return candidate;
  if (spawnSync('pgbouncer', ['--version']).status === 0) return 'pgbouncer';
  throw new Error('pgbouncer is not installed (Debian: apt-get install -y pgbouncer)');
}

/**
 * A PgBouncer of its own (own port, own configuration in a temporary directory) in transaction
 * pooling mode in front of the PostgreSQL server of `serverUrl`. Every database name is passed
 * through (`*`), so the per-file databases the tests create are reachable, and every server
 * connection logs in with `serverUrl`'s credentials (`auth_type = any`). No startup parameter
 * beyond PgBouncer's own few is allowed, as with PgBouncer's defaults in production, and every
 * server connection is reset after each transaction.
 */
export async function startPgbouncer(serverUrl: string): Promise<Pgbouncer> {
  const binary = pgbouncerBinary();
  const server = new URL(serverUrl);
  const directory = await mkdtemp(path.join(tmpdir(), 'pgbouncer-'));
  // As root PgBouncer refuses to run unless told to switch to another user, who must read this.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chmod(directory, 0o777);
  const port = await freePort();
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const target = [
    `host=${server.hostname}`,
    `port=${server.port || '5432'}`,
    `user=${decodeURIComponent(server.username || 'postgres')}`,
    ...(server.password === '' ? [] : [`password=${quote(decodeURIComponent(server.password))}`]),
  ].join(' ');
  const configFile = path.join(directory, 'pgbouncer.ini');
  await writeFile(
    configFile,
    [
      '[databases]',
      `* = ${target}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      // Strict: every session state (prepared statements, session locks, SET, LISTEN) is discarded
      // after each transaction, so whatever relies on one fails every time, not now and then.
      'server_reset_query = DISCARD ALL',
      'server_reset_query_always = 1',
      'max_client_conn = 2000',
      'default_pool_size = 20',
      `logfile = ${path.join(directory, 'pgbouncer.log')}`,
      ...(asRoot ? ['user = postgres'] : []),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const child = spawn(binary, [configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const rewrite = (url: string) => {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(port);
    return parsed.toString();
  };
  const probe = rewrite(serverUrl);
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null) {
      const log = await readFile(path.join(directory, 'pgbouncer.log'), 'utf8').catch(() => '');
      throw new Error(`pgbouncer exited with ${child.exitCode}: ${stderr}${log}`);
    }
    const client = new pg.Client({ connectionString: probe });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (waited > 15_000) {
        child.kill('SIGKILL');
        throw new Error(`pgbouncer did not answer: ${String(error)}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    rewrite,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
