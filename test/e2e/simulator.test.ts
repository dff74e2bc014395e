import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parseSimulatorArgs } from '../../src/simulator/options.js';
import { planOrders, type OrderPlan } from '../../src/simulator/plan.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitFor } from '../helpers/fake-downstream.js';
import { adminQuery } from '../helpers/global-setup.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const CLI = path.resolve('dist/simulator/cli.js');
const TOKEN = 'e2e-token';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built simulator, as `npm run simulate` runs it. */
function simulate(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

/** The summary a run of these orders must end with when the receiver behaves. */
function expectedSummary(orders: readonly OrderPlan[]): string {
  const notifications = orders.flatMap((o) => o.notifications);
  const forged = notifications.filter((n) => n.role === 'forged').length;
  const genuine = notifications.filter((n) => n.role !== 'forged').reduce((sum, n) => sum + n.copies, 0);
  return `sent ${genuine + forged}, SUCCESS ${genuine}, refused ${forged}, retried 0`;
}

const keys = generateRsaKeyPair();
let dir: string;
let keyFile: string;
let db: TestDatabase;
let server: ServerProcess;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'starpay-simulator-'));
  keyFile = path.join(dir, 'starpay-private.pem');
  await writeFile(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  db = await createTestDatabase();
  server = await startServerProcess({
    DATABASE_URL: db.url,
    STARPAY_PUBLIC_KEYS: keys.publicKeyPem,
    STARPAY_MCH_ID: undefined,
    OPS_API_TOKEN: TOKEN,
    DATA_DIR: dir,
    NODE_ENV: undefined,
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('npm run simulate against the built service', () => {
  it('delivers every genuine notification, gets the forged ones refused, and leaves each order in its final state', async () => {
    const args = [
      '--url',
      server.url,
      '--key',
      keyFile,
      '--orders',
      '15',
      '--duplicates',
      '0.4',
      '--out-of-order',
      '0.4',
      '--forged',
      '0.2',
      '--time-scale',
      '0.00001',
      '--seed',
      '2024',
      '--quiet',
    ];
    const orders = planOrders({ ...parseSimulatorArgs(args), seed: 2024 });

    const run = await simulate(args);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`${expectedSummary(orders)}\n`);
    expect(run.stdout).toMatch(/^sent \d+, SUCCESS \d+, refused 3, retried 0\n$/);
    expect(run.code).toBe(0);

    for (const order of orders) {
      const response = await fetch(`${server.url}/ops/orders/${order.kind}/${order.orderRef}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      const detail = (await response.json()) as {
        order: { state: string; amount: number; conflict: boolean; errorCode: string | null };
        notifications: Array<{ msgId: string; deliveryCount: number }>;
      };
      const final = order.notifications.find((n) => n.role === 'final');
      expect(detail.order).toMatchObject({ state: order.state, amount: order.amount, conflict: false, errorCode: final?.fields.errorCode ?? null });
      const genuine = order.notifications.filter((n) => n.role !== 'forged');
      expect(detail.notifications.map((n) => [n.msgId, n.deliveryCount]).sort()).toEqual(genuine.map((n) => [n.fields.msgId, n.copies]).sort());
    }
  });

  it('prints one line per notification and the summary last', async () => {
    const run = await simulate(['--url', server.url, '--key', keyFile, '--orders', '3', '--time-scale', '0.00001']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^simulating 3 orders → http:\/\/127\.0\.0\.1:\d+: \d+ notifications .* seed \d+$/);
    expect(lines.slice(1, -1).every((line) => /^✓ (disbursement|repayment|static-qr) +\d+ .*→ 200 SUCCESS$/.test(line))).toBe(true);
    expect(lastLine(run.stdout)).toMatch(/^sent [3-9], SUCCESS [3-9], refused 0, retried 0$/);
  });

  it('fails when the service does not trust the signing key', async () => {
    const stranger = path.join(dir, 'stranger.pem');
    await writeFile(stranger, generateRsaKeyPair().privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const run = await simulate([
      '--url',
      server.url,
      '--key',
      stranger,
      '--kind',
      'repayment',
      '--orders',
      '2',
      '--duplicates',
      '0',
      '--out-of-order',
      '0',
      '--time-scale',
      '0.00001',
      '--quiet',
    ]);
    expect(lastLine(run.stdout)).toBe('sent 2, SUCCESS 0, refused 2, retried 0');
    expect(run.stderr).toContain('2 notification(s) did not end as expected');
    expect(run.code).toBe(1);
  });

  it('keeps resending while the database is away, until the service answers SUCCESS again', async () => {
    const args = [
      '--url',
      server.url,
      '--key',
      keyFile,
      '--kind',
      'repayment',
      '--orders',
      '2',
      '--duplicates',
      '0',
      '--out-of-order',
      '0',
      '--time-scale',
      '0.0001',
      '--seed',
      '5',
      '--quiet',
    ];
    const [order] = planOrders({ ...parseSimulatorArgs(args), seed: 5 });
    await db.drop();
    const running = simulate(args);
    // The database comes back only once the service has answered a notification 503.
    await waitFor(async () => /outcome="DATABASE_UNAVAILABLE"[^\n]* [1-9]/.test(await (await fetch(`${server.url}/metrics`)).text()), 30_000, 'a 503');
    await adminQuery(inject('databaseAdminUrl'), `CREATE DATABASE ${db.name} TEMPLATE ${inject('templateDatabase')}`);

    const run = await running;
    expect(lastLine(run.stdout)).toMatch(/^sent (\d+), SUCCESS 2, refused 0, retried [1-9]\d*$/);
    expect(run.code).toBe(0);
    const response = await fetch(`${server.url}/ops/orders/repayment/${order?.orderRef}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
  });

  it('says so and fails at once when nothing listens at --url', async () => {
    const run = await simulate(['--url', 'http://127.0.0.1:9', '--key', keyFile]);
    expect(run.stderr).toContain('nothing answers at http://127.0.0.1:9');
    expect(run.stdout).toBe('sent 0, SUCCESS 0, refused 0, retried 0\n');
    expect(run.code).toBe(1);
  });
});
