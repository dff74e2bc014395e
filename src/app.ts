import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { notifyRoutes } from './http/notify/routes.js';
import { opsRoutes } from './http/ops/routes.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { healthRoutes } from './plugins/health.js';
import type { Database } from './store/database.js';

export interface AppDeps {
  config: Config;
  db: Database;
  /** Starpay platform public keys, parsed once at start-up. */
  starpayKeys: readonly KeyObject[];
  logger: FastifyBaseLogger;
}

/** Builds the HTTP app; listening, signals and the process belong to src/server.ts. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // One line per notification outcome is logged by the routes; per-request access lines are not.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    trustProxy: trustProxyOption(deps.config.trustProxy),
    // Slow or stalled clients must not hold sockets forever.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerErrorHandler(app);
  await app.register(healthRoutes, { db: deps.db });
  await app.register(notifyRoutes, { config: deps.config, db: deps.db, starpayKeys: deps.starpayKeys });
  await app.register(opsRoutes, { prefix: '/ops', config: deps.config, db: deps.db });
  return app;
}

/** TRUST_PROXY as Fastify takes it: a hop count becomes "trust the nearest N proxies". */
function trustProxyOption(value: Config['trustProxy']): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === undefined) return false;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return value;
}
