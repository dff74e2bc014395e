import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v3State } from '../../src/providers/starpago/states.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { parseSimulatorArgs } from '../../src/simulator/options.js';
import { planSimulation, type SimulatedOrder } from '../../src/simulator/simulation.js';
import type { StarpagoOrderPlan } from '../../src/simulator/starpago-plan.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const CLI = path.resolve('dist/simulator/cli.js');
const TOKEN = 'e2e-starpago-token';
const APP_ID = 'e2e-app';
const APP_SECRET = 'e2e-app-secret-4f1c';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built simulator, as `npm run simulate` runs it. */
function simulate(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 90_000, env: { ...process.env, STARPAGO_APP_SECRET: '' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

interface OrderDetail {
  order: { state: string; amount: number | null; currency: string | null; conflict: boolean };
  notifications: Array<{ source: string; status: string; reason: string | null; request: Record<string, unknown> | null }>;
  events: Array<{ data: { state: string; source: string } }>;
}

async function lookUp(order: { kind: string; orderRef: string }): Promise<{ status: number; detail: OrderDetail | null }> {
  const response = await fetch(`${server.url}/ops/orders/${order.kind}/${order.orderRef}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: response.status, detail: response.ok ? ((await response.json()) as OrderDetail) : null };
}

/** Polls the ops API until `done` holds for the order's detail, or fails with what it last saw. */
async function eventually(order: SimulatedOrder, done: (detail: OrderDetail | null) => boolean, timeoutMs = 30_000): Promise<OrderDetail | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { detail } = await lookUp(order);
    if (done(detail)) return detail;
    if (Date.now() > deadline) {
      throw new Error(`${order.kind} ${order.orderRef}: expected ${order.state}, the ops API shows ${JSON.stringify(detail?.order ?? null)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let dir: string;
let db: TestDatabase;
let fake: FakeStarpago;
let server: ServerProcess;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'starpago-simulator-'));
  db = await createTestDatabase();
  fake = await startFakeStarpago({ appId: APP_ID, appSecret: APP_SECRET });
  server = await startServerProcess({
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    STARPAGO_APP_ID: APP_ID,
    STARPAGO_APP_SECRET: APP_SECRET,
    STARPAGO_API_URL: fake.url,
    STARPAGO_API_VERSION: 'v3',
    RECONCILE_SCHEDULE: '1s,2s,5s',
    OPS_API_TOKEN: TOKEN,
    NODE_ENV: undefined,
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  await server?.stop();
  await fake?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

const common = [
  '--provider',
  'starpago',
  '--orders',
  '12',
  '--duplicates',
  '0.3',
  '--out-of-order',
  '0.3',
  '--forged',
  '0.25',
  '--time-scale',
  '0.00001',
  '--quiet',
];

describe('npm run simulate -- --provider starpago against the built service', () => {
  it('v2: every genuine callback is answered SUCCESS, every forged sign 401, and each order ends in its final state', async () => {
    const args = ['--url', server.url, ...common, '--starpago-version', 'v2', '--app-secret', APP_SECRET, '--seed', '31'];
    const orders = planSimulation({ ...parseSimulatorArgs(args), seed: 31 }) as StarpagoOrderPlan[];
    const notifications = orders.flatMap((o) => o.notifications);
    const forged = notifications.filter((n) => n.role === 'forged').length;
    const genuine = notifications.filter((n) => n.role !== 'forged').reduce((sum, n) => sum + n.copies, 0);
    expect(forged).toBe(3);

    const run = await simulate(args);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`sent ${genuine + forged}, SUCCESS ${genuine}, refused ${forged}, retried 0\n`);
    expect(run.code).toBe(0);

    for (const order of orders) {
      const { status, detail } = await lookUp(order);
      expect(status).toBe(200);
      expect(detail?.order).toMatchObject({ state: order.state, amount: order.amount, currency: order.currency, conflict: false });
      expect(detail?.notifications.filter((n) => n.status === 'accepted')).toHaveLength(order.notifications.filter((n) => n.role !== 'forged').length);
    }
  });

  it('fails the run when the callbacks are signed with another secret', async () => {
    const run = await simulate([
      '--url',
      server.url,
      '--provider',
      'starpago',
      '--orders',
      '2',
      '--duplicates',
      '0',
      '--out-of-order',
      '0',
      '--time-scale',
      '0.00001',
      '--app-secret',
      'not-the-app-secret',
      '--quiet',
    ]);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^sent ([2-4]), SUCCESS 0, refused \1, retried 0$/);
    expect(run.code).toBe(1);
  });

  it('v3: unsigned callbacks are answered SUCCESS, the orders end as StarPago knows them, and no forged hint changes an order', async () => {
    const args = ['--url', server.url, ...common, '--starpago-version', 'v3', '--starpago-api', fake.url, '--seed', '32'];
    const orders = planSimulation({ ...parseSimulatorArgs(args), seed: 32 }) as StarpagoOrderPlan[];
    const sent = orders.flatMap((o) => o.notifications).reduce((sum, n) => sum + n.copies, 0);

    const run = await simulate(args);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`sent ${sent}, SUCCESS ${sent}, refused 0, retried 0\n`);
    expect(run.code).toBe(0);

    // Only StarPago's answers move v3 orders: each ends in the state the fake StarPago was told.
    for (const order of orders) {
      const detail = await eventually(order, (d) => d?.order.state === order.state);
      expect(detail?.order).toMatchObject({ amount: order.amount, currency: order.currency, conflict: false });
      expect(detail?.events.every((e) => e.data.source === 'query')).toBe(true);
      expect(detail?.events.map((e) => e.data.state)).not.toContain(order.state === 'SUCCESS' ? 'FAILED' : 'SUCCESS');
    }

    const forgeries = orders.flatMap((o) => o.notifications.filter((n) => n.role === 'forged').map((n) => ({ order: o, fields: n.fields })));
    expect(forgeries).toHaveLength(3);
    for (const { order, fields } of forgeries) {
      if (fields.merOrderNo !== order.orderRef) {
        // A hint for an order StarPago does not have creates nothing.
        expect((await lookUp({ kind: order.kind, orderRef: String(fields.merOrderNo) })).status).toBe(404);
      } else {
        const detail = await eventually(
          order,
          (d) => d?.notifications.some((n) => n.request?.status === fields.status && n.source === 'notification' && n.status === 'rejected') === true,
        );
        expect(detail?.order.state).toBe(order.state);
        expect(v3State(fields.status)).not.toBe(order.state);
      }
    }
  });
});
