import { defineConfig } from 'vitest/config';

// One PostgreSQL for the whole run (root globalSetup); every test file clones its own database.
export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      // RabbitMQ and NATS on 127.0.0.1: `npm run test:brokers`, kept out of `npm test`.
      { test: { name: 'brokers', include: ['test/brokers/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 } },
      // `npm run test:pgbouncer`: these tests with DATABASE_URL through a PgBouncer in transaction mode.
      {
        test: {
          name: 'pgbouncer',
          include: [
            'test/pgbouncer/**/*.test.ts',
            'test/integration/notify.test.ts',
            'test/integration/forwarder.test.ts',
            'test/integration/reconcile.test.ts',
            'test/e2e/replicas.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // Debian's Chromium against the built service: `npm run test:browser`, not part of `npm test`.
      { test: { name: 'browser', include: ['test/browser/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
});
