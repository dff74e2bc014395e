import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimulatorArgs } from '../../src/simulator/options.js';
import { planSimulation } from '../../src/simulator/simulation.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitFor } from '../helpers/fake-downstream.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const SIMULATOR = path.resolve('dist/simulator/cli.js');
const SANDBOX = path.resolve('dist/sandbox/cli.js');
const TOKEN = 'e2e-lose-token';

let dir: string;
let db: TestDatabase;
let sandbox: { env: Record<string, string>; stop(): Promise<void> };
let server: ServerProcess;

/** `npm run sandbox` on free ports, resolved with the environment it prints for the service. */
async function startSandbox(dataDir: string): Promise<typeof sandbox> {
  const child = spawn(process.execPath, [SANDBOX], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      SANDBOX_STARPAY_PORT: '0',
      SANDBOX_STARPAGO_PORT: '0',
      STARPAY_MCH_ID: '',
      STARPAGO_APP_ID: '',
      STARPAGO_APP_SECRET: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => output.includes('STARPAGO_APP_SECRET=') || child.exitCode !== null, 30_000, 'the sandbox banner');
  const env = Object.fromEntries([...output.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  return {
    env,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function simulate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SIMULATOR, ...args], { timeout: 110_000, env: { ...process.env, DATA_DIR: dir } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'simulator-lose-'));
  db = await createTestDatabase();
  sandbox = await startSandbox(dir);
  // The three commands of the README: the sandbox, the service with its printed environment and a short schedule, the simulator.
  server = await startServerProcess({
    ...sandbox.env,
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    STARPAY_PUBLIC_KEYS: undefined,
    RECONCILE_SCHEDULE: '1s,2s,5s',
    OPS_API_TOKEN: TOKEN,
    NODE_ENV: undefined,
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  await server?.stop();
  await sandbox?.stop();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('npm run simulate -- --lose', () => {
  it('registers the orders, never sends the lost final notifications, and the service finds every lost outcome by query', async () => {
    const starpayApi = new URL(sandbox.env.STARPAY_API_URL as string).origin;
    const args = [
      '--url',
      server.url,
      '--provider',
      'both',
      '--orders',
      '10',
      '--lose',
      '0.5',
      '--ops-token',
      TOKEN,
      '--starpay-api',
      starpayApi,
      '--starpago-api',
      sandbox.env.STARPAGO_API_URL as string,
      '--recover-timeout',
      '90s',
      '--time-scale',
      '0.00001',
      '--seed',
      '77',
      '--quiet',
    ];
    const orders = planSimulation({ ...parseSimulatorArgs(args), seed: 77 });
    const lost = orders.filter((o) => o.lost);
    expect(lost).toHaveLength(4); // half of the eight queryable orders: two static-QR ones are never lost

    const run = await simulate(args);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^starpay: sent \d+, SUCCESS \d+, refused 0, retried 0$/);
    expect(lines[1]).toMatch(/^starpago: sent \d+, SUCCESS \d+, refused 0, retried 0$/);
    expect(lines[2]).toBe('lost 4, recovered 4 by query');
    expect(run.code).toBe(0);

    for (const order of orders.filter((o) => o.kind !== 'static-qr')) {
      const response = await fetch(`${server.url}/ops/orders/${order.kind}/${order.orderRef}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const detail = (await response.json()) as { order: { state: string; expectedAmount: number | null; amountMismatch: boolean } };
      expect(detail.order).toMatchObject({ state: order.state, expectedAmount: order.amount, amountMismatch: false });
    }
  });
});
