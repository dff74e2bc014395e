import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { createServices } from '../../src/services.js';
import type { Reconciler } from '../../src/jobs/reconcile.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';
import { createProviders, PROVIDER_NAMES } from '../../src/providers/index.js';
import { createDestinations } from '../../src/destinations/index.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { generateRsaKeyPair, type RsaKeyPair } from '../../src/simulator/key-pair.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const OPS_TOKEN = 'test-ops-token-0123456789';
/** The Standard Webhooks secret the tests' forwarders sign with. */
export const FORWARD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  database: TestDatabase;
  config: Config;
  /** The Starpay key pair the app trusts. */
  starpay: RsaKeyPair;
  /** The app's reconciler: its job is not started, tests call runDue() or start it. */
  reconciler: Reconciler;
  close(): Promise<void>;
}

/** Extra start-up inputs a test may give (the merchant key for Starpay queries comes in `env`, as in production). */
export interface TestAppOptions {
  starpay?: RsaKeyPair;
  /** Where the app logs; silent when absent. */
  logger?: Logger;
  /** A span per request (src/telemetry/sdk.ts), for the tracing tests. */
  tracingPlugin?: FastifyPluginAsync;
}

/**
 * The real app on its own migrated database, trusting a freshly generated Starpay key. With
 * `DATABASE_URL` in `env` it joins that database instead, as a second replica would (and leaves it
 * in place when closed).
 */
export async function startTestApp(env: Record<string, string | undefined> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const starpay = options.starpay ?? generateRsaKeyPair();
  const shared = env.DATABASE_URL;
  const database: TestDatabase =
    shared === undefined
      ? await createTestDatabase()
      : { name: new URL(shared).pathname.slice(1), url: shared, directUrl: env.DATABASE_DIRECT_URL ?? shared, drop: async () => {} };
  const config = loadConfig({
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    OPS_API_TOKEN: OPS_TOKEN,
    LOG_LEVEL: 'silent',
    DATABASE_URL: database.url,
    // A replica joining a database gets a direct URL only if the test gives it one.
    DATABASE_DIRECT_URL: shared === undefined ? database.directUrl : env.DATABASE_DIRECT_URL,
    ...env,
  });
  const db = openDatabase(database.url, { directUrl: config.databaseDirectUrl });
  const logger = options.logger ?? createLogger('silent');
  const providers = await createProviders(config, { logger, dataDir: config.dataDir, developmentStandIns: false });
  const destinations = createDestinations(config.forward.urls, {
    timeoutMs: config.forward.timeoutMs,
    webhookSecret: config.forward.secret,
    providerNames: PROVIDER_NAMES,
  });
  const { app, reconciler } = await createServices({ config, db, logger, providers, destinations, tracingPlugin: options.tracingPlugin, reconcilePollMs: 50 });
  return {
    app,
    db,
    database,
    config,
    starpay,
    reconciler,
    async close() {
      await reconciler.job.stop();
      await app.close();
      await Promise.all(destinations.map((destination) => destination.close()));
      await db.close();
      await database.drop();
    },
  };
}
