import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMerchantPrivateKey } from '../../src/providers/starpay/merchant-key.js';
import { createStarpayQueryClient } from '../../src/providers/starpay/query-client.js';
import { parsePublicKeys } from '../../src/providers/starpay/public-keys.js';
import { createStarpagoClient } from '../../src/providers/starpago/client.js';
import { DEV_STARPAGO_APP_ID, DEV_STARPAGO_APP_SECRET } from '../../src/sandbox/dev-starpago-credentials.js';
import { waitFor } from '../helpers/fake-downstream.js';

const CLI = path.resolve('dist/sandbox/cli.js');

interface Sandbox {
  env: Record<string, string>;
  output(): string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** `npm run sandbox` as the built child process, resolved once it has printed the service's environment. */
async function startSandbox(dataDir: string): Promise<Sandbox> {
  const child = spawn(process.execPath, [CLI], {
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(() => output.includes('STARPAGO_APP_SECRET=') || child.exitCode !== null, 30_000, 'the sandbox banner');
  const env = Object.fromEntries([...output.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  return {
    env,
    output: () => output,
    stop: async (signal) => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

const running: Sandbox[] = [];
/** Data folders hold private keys: none is left behind in the system temp folder. */
const dataDirs: string[] = [];
async function newDataDir(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'receiver-sandbox-'));
  dataDirs.push(directory);
  return directory;
}
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
  await Promise.all(dataDirs.map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('npm run sandbox', () => {
  it('serves a fake Starpay that the printed environment can query, and stops on SIGTERM', async () => {
    const dataDir = await newDataDir();
    const sandbox = await startSandbox(dataDir);
    running.push(sandbox);
    expect(Object.keys(sandbox.env)).toEqual([
      'STARPAY_API_URL',
      'STARPAY_MCH_ID',
      'STARPAY_MERCHANT_PRIVATE_KEY_FILE',
      'STARPAGO_API_URL',
      'STARPAGO_APP_ID',
      'STARPAGO_APP_SECRET',
    ]);
    expect(sandbox.env.STARPAY_MERCHANT_PRIVATE_KEY_FILE).toBe(path.join(dataDir, 'starpay-dev-merchant-private.pem'));
    expect((await stat(sandbox.env.STARPAY_MERCHANT_PRIVATE_KEY_FILE!)).mode & 0o077).toBe(0);

    // What a separate simulator process does: register the truth over HTTP.
    const origin = new URL(sandbox.env.STARPAY_API_URL!).origin;
    const put = await fetch(`${origin}/sandbox/starpay/orders/disbursement/ORD-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' }),
    });
    expect(put.status).toBe(200);

    // What the service does with the printed environment and the platform key it trusts in development.
    const client = createStarpayQueryClient({
      apiUrl: sandbox.env.STARPAY_API_URL!,
      mchId: sandbox.env.STARPAY_MCH_ID!,
      merchantPrivateKey: (await loadMerchantPrivateKey({ keyFile: sandbox.env.STARPAY_MERCHANT_PRIVATE_KEY_FILE }))!,
      platformKeys: parsePublicKeys(await readFile(path.join(dataDir, 'starpay-dev-public.pem'), 'utf8')),
      timeoutMs: 5_000,
    });
    try {
      const found = await client.query('disbursement', 'ORD-1');
      expect(found.outcome === 'found' && found.report).toMatchObject({ state: 'SUCCESS', amount: 10000, currency: 'PHP' });
      expect((await client.query('repayment', 'ORD-1')).outcome).toBe('not_found');
    } finally {
      await client.close();
    }
    await waitFor(() => sandbox.output().includes('ORD-1'), 5_000, 'the query to be printed');
    expect(sandbox.output()).toMatch(/disbursement query ORD-1 msgId=\d+ signature ok → code 200/);

    expect(await sandbox.stop('SIGTERM')).toBe(0);
  });

  it('serves a fake StarPago that the printed environment can query, with the development credentials', async () => {
    const sandbox = await startSandbox(await newDataDir());
    running.push(sandbox);
    expect(sandbox.env).toMatchObject({ STARPAGO_APP_ID: DEV_STARPAGO_APP_ID, STARPAGO_APP_SECRET: DEV_STARPAGO_APP_SECRET });

    const put = await fetch(`${sandbox.env.STARPAGO_API_URL}/sandbox/starpago/orders/payout/MER-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'PAID', orderStatus: 2, amount: '13500', currency: 'VND' }),
    });
    expect(put.status).toBe(204);
    for (const apiVersion of ['v2', 'v3'] as const) {
      const client = createStarpagoClient({
        apiUrl: sandbox.env.STARPAGO_API_URL!,
        appId: sandbox.env.STARPAGO_APP_ID!,
        appSecret: sandbox.env.STARPAGO_APP_SECRET!,
        apiVersion,
        timeoutMs: 5_000,
      });
      const found = await client.query('payout', 'MER-1');
      expect(found.outcome === 'found' && found.report).toMatchObject({ state: 'SUCCESS', amount: 13500, currency: 'VND' });
      expect((await client.query('payin', 'MER-1')).outcome).toBe('not_found');
    }
    await waitFor(() => sandbox.output().includes('starpago v2 payout query MER-1 → HTTP 200'), 5_000, 'the query to be printed');
    expect(await sandbox.stop('SIGTERM')).toBe(0);
  });

  it('keeps its key pairs across runs', async () => {
    const dataDir = await newDataDir();
    const first = await startSandbox(dataDir);
    running.push(first);
    const files = ['starpay-dev-private.pem', 'starpay-dev-public.pem', 'starpay-dev-merchant-private.pem', 'starpay-dev-merchant-public.pem'];
    const before = await Promise.all(files.map((f) => readFile(path.join(dataDir, f), 'utf8')));
    expect(await first.stop('SIGINT')).toBe(0);

    const second = await startSandbox(dataDir);
    running.push(second);
    const after = await Promise.all(files.map((f) => readFile(path.join(dataDir, f), 'utf8')));
    expect(after).toEqual(before);
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
