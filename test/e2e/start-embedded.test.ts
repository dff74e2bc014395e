import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { DEV_PRIVATE_KEY_FILE } from '../../src/providers/starpay/dev-keys.js';
import { requestFields, signedBody } from '../helpers/starpay.js';
import { startServerProcess } from '../helpers/server-process.js';

const dataDirs: string[] = [];
afterAll(async () => {
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the service started with no configuration', () => {
  it('runs on an embedded database, accepts notifications signed with its development key, and keeps them across restarts', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'starpay-e2e-'));
    dataDirs.push(dataDir);
    const env = { DATA_DIR: dataDir, DATABASE_URL: undefined, TEST_DATABASE_URL: undefined, NODE_ENV: undefined, OPS_API_TOKEN: 'e2e-token' };

    const first = await startServerProcess(env);
    expect(first.output()).toContain('started an embedded PostgreSQL');
    // Start-up says what it will not do: forward (no FORWARD_URLS); the ops token is set, so no warning.
    expect(first.output()).toContain('FORWARD_URLS is unset: state changes are kept but forwarded nowhere');
    expect(first.output()).not.toContain('no ops token');
    const privateKey = createPrivateKey(await readFile(path.join(dataDir, DEV_PRIVATE_KEY_FILE), 'utf8'));
    const fields = requestFields();
    const response = await fetch(`${first.url}/notify/starpay/repayment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: signedBody(fields, privateKey),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('SUCCESS');
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startServerProcess(env);
    try {
      const lookup = await fetch(`${second.url}/ops/orders/repayment/${String(fields.originalMsgId)}`, {
        headers: { authorization: 'Bearer e2e-token' },
      });
      expect(lookup.status).toBe(200);
      expect(((await lookup.json()) as { order: { state: string } }).order.state).toBe('SUCCESS');
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('stops the embedded database it started when start-up fails afterwards (the port is taken)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'starpay-e2e-'));
    dataDirs.push(dataDir);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await expect(
        startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: undefined, TEST_DATABASE_URL: undefined, NODE_ENV: undefined, PORT: String(port) }),
      ).rejects.toThrow(/exited with 1:[\s\S]*start-up failed: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
    // PostgreSQL removes its pid file when it stops; an orphan would keep it.
    await expect(access(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses to start with a Starpay key under 2048 bits', async () => {
    const weak = generateRsaKeyPair(1024).publicKeyPem;
    await expect(startServerProcess({ STARPAY_PUBLIC_KEYS: weak, DATABASE_URL: 'postgres://127.0.0.1:1/none' })).rejects.toThrow(
      /exited with 1:[\s\S]*1024 bits; at least 2048/,
    );
  });

  it('refuses to start in production without DATABASE_URL, on one line, and starts no embedded database', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'starpay-e2e-'));
    dataDirs.push(dataDir);
    await expect(
      startServerProcess({
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        DATABASE_URL: undefined,
        STARPAGO_APP_SECRET: 'secret',
        OPS_API_TOKEN: 'a-production-token-of-32-characters-or-more',
      }),
    ).rejects.toThrow(/exited with 1:\s*invalid configuration: DATABASE_URL is required in production[^\n]*\n$/);
    await expect(access(path.join(dataDir, 'postgres'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses to start in production without its secrets, naming them on one line', async () => {
    await expect(startServerProcess({ NODE_ENV: 'production', STARPAY_PUBLIC_KEYS: undefined, OPS_API_TOKEN: undefined })).rejects.toThrow(
      /exited with 1:\s*invalid configuration: STARPAY_PUBLIC_KEYS .*\ninvalid configuration: OPS_API_TOKEN/,
    );
    await expect(
      startServerProcess({ NODE_ENV: 'production', STARPAGO_APP_SECRET: 'secret', OPS_API_TOKEN: 'too-short', DATABASE_URL: 'postgres://127.0.0.1:1/none' }),
    ).rejects.toThrow(/exited with 1:\s*invalid configuration: OPS_API_TOKEN must be at least 32 characters in production\n/);
  });
});
