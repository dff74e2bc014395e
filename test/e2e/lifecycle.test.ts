import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_PRIVATE_KEY_FILE } from '../../src/providers/starpay/dev-keys.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { SERVER_ENTRY, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const dataDirs: string[] = [];
afterAll(async () => {
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The environment of `npm start` on a fresh checkout: no DATABASE_URL, its own DATA_DIR. */
async function embeddedEnv(extra: Record<string, string> = {}): Promise<Record<string, string | undefined>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'starpay-lifecycle-'));
  dataDirs.push(dataDir);
  return { DATA_DIR: dataDir, DATABASE_URL: undefined, TEST_DATABASE_URL: undefined, NODE_ENV: undefined, LOG_LEVEL: 'info', ...extra };
}

/** The embedded database's postmaster, from the pid file PostgreSQL keeps in its data directory. */
function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Field 5 of /proc/<pid>/stat: the process group. */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Runs the built service to its exit; resolves with the exit code and everything it wrote. */
function runToExit(env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, PORT: '0', HOST: '127.0.0.1', ...env })) if (value !== undefined) childEnv[name] = value;
  const child = spawn(process.execPath, [SERVER_ENTRY], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function notifyWithDevKey(server: ServerProcess, dataDir: string): Promise<{ status: number; body: string }> {
  const key = createPrivateKey(await readFile(path.join(dataDir, DEV_PRIVATE_KEY_FILE), 'utf8'));
  const response = await fetch(`${server.url}/notify/starpay/repayment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: signedBody(requestFields(), key),
  });
  return { status: response.status, body: await response.text() };
}

describe('two starts on one DATA_DIR', () => {
  it('the second refuses with one line and touches nothing; after the first is killed, the next start takes over', async () => {
    const env = await embeddedEnv();
    const dataDir = env.DATA_DIR as string;
    const first = await startServerProcess(env);
    const lockBefore = await stat(path.join(dataDir, 'receiver.pid'));
    const keyBefore = await stat(path.join(dataDir, DEV_PRIVATE_KEY_FILE));
    const postmaster = postmasterPid(dataDir);

    const second = await runToExit(env);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr).toMatch(
      new RegExp(`^DATA_DIR ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another running service \\(pid ${first.child.pid}\\)[^\\n]*\\n$`),
    );

    // The first one's database and files are as they were, and it still serves.
    expect(isAlive(postmaster)).toBe(true);
    expect((await stat(path.join(dataDir, 'receiver.pid'))).mtimeMs).toBe(lockBefore.mtimeMs);
    expect((await stat(path.join(dataDir, DEV_PRIVATE_KEY_FILE))).mtimeMs).toBe(keyBefore.mtimeMs);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect(await notifyWithDevKey(first, dataDir)).toEqual({ status: 200, body: 'SUCCESS' });

    // Killed outright, the first leaves its lock file and an orphaned PostgreSQL behind: neither stops the next start.
    await first.stop('SIGKILL');
    const third = await startServerProcess(env);
    try {
      expect(isAlive(postmaster)).toBe(false);
      expect(await notifyWithDevKey(third, dataDir)).toEqual({ status: 200, body: 'SUCCESS' });
    } finally {
      expect(await third.stop('SIGTERM')).toBe(0);
    }
  });
});

describe('stopping a service that runs its embedded database', () => {
  it('Ctrl-C (SIGINT to the whole foreground process group) reaches the service only; it stops its database last and exits 0', async () => {
    const env = await embeddedEnv();
    const server = await startServerProcess(env, { detached: true });
    const postmaster = postmasterPid(env.DATA_DIR as string);
    const group = server.child.pid as number;
    expect(processGroupOf(group)).toBe(group);
    expect(processGroupOf(postmaster)).not.toBe(group);

    process.kill(-group, 'SIGINT');
    expect(await server.exited).toBe(0);
    expect(isAlive(postmaster)).toBe(false);
    expect(server.output()).toContain('shutting down');
  });

  it('a second SIGTERM during a long drain cuts it short and still stops the embedded database (exit 1)', async () => {
    const downstream = await startFakeDownstream(() => ({ status: 204, delayMs: 60_000 }));
    try {
      const env = await embeddedEnv({ FORWARD_URLS: downstream.url, FORWARD_SECRET, FORWARD_TIMEOUT_MS: '60000', SHUTDOWN_GRACE_MS: '60000' });
      const server = await startServerProcess(env);
      const postmaster = postmasterPid(env.DATA_DIR as string);
      expect(await notifyWithDevKey(server, env.DATA_DIR as string)).toEqual({ status: 200, body: 'SUCCESS' });
      // The delivery attempt now hangs in flight, and holds the drain open.
      await waitFor(() => downstream.received.length > 0, 10_000, 'the delivery attempt');
      server.child.kill('SIGTERM');
      await waitFor(() => server.output().includes('shutting down'), 10_000, 'the drain to begin');
      expect(await server.stop('SIGTERM')).toBe(1);
      expect(server.output()).toContain('second SIGTERM');
      expect(isAlive(postmaster)).toBe(false);
    } finally {
      await downstream.close();
    }
  });
});

describe('SHUTDOWN_GRACE_MS', () => {
  it('bounds the drain: the attempt in flight is abandoned to its lease, the process exits 1, and a later start delivers it', async () => {
    const database = await createTestDatabase();
    const starpay = generateRsaKeyPair();
    const downstream = await startFakeDownstream(() => ({ status: 204, delayMs: 30_000 }));
    const env = {
      DATABASE_URL: database.url,
      STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
      FORWARD_URLS: downstream.url,
      FORWARD_SECRET,
      // A lease of 2 × 3 s + 5 s: the abandoned delivery is claimable again 11 s after its claim.
      FORWARD_TIMEOUT_MS: '3000',
      SHUTDOWN_GRACE_MS: '1000',
      LOG_LEVEL: 'info',
    };
    const client = new pg.Client({ connectionString: database.directUrl });
    await client.connect();
    try {
      // Until the signal, every attempt hangs (and times out); the first one is in flight at the signal.
      const server = await startServerProcess(env);
      const notification = signedNotification(starpay.privateKey);
      expect(await postNotification(server.url, 'repayment', notification.body)).toEqual({ status: 200, body: 'SUCCESS' });
      await waitFor(() => downstream.received.length > 0, 10_000, 'the delivery attempt');
      expect(await server.stop('SIGTERM')).toBe(1);
      expect(server.output()).toContain('SHUTDOWN_GRACE_MS (1000 ms) passed');
      const { rows } = await client.query<{ status: string; attempts: number; leased: boolean }>(
        'SELECT status, attempts, lease_until IS NOT NULL AS leased FROM deliveries',
      );
      expect(rows).toEqual([{ status: 'pending', attempts: 0, leased: true }]);

      downstream.setReply(() => ({ status: 204 }));
      const next = await startServerProcess(env);
      try {
        await waitFor(async () => (await client.query("SELECT 1 FROM deliveries WHERE status = 'delivered'")).rowCount === 1, 30_000, 'the delivery');
        const ids = new Set(downstream.received.map((webhook) => webhook.headers['webhook-id']));
        expect(ids.size).toBe(1);
      } finally {
        expect(await next.stop('SIGTERM')).toBe(0);
      }
    } finally {
      await client.end();
      await downstream.close();
      await database.drop();
    }
  });
});
