import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Config } from './config/config.js';
import type { Provider } from './domain/provider.js';
import { consoleRoutes } from './http/console/routes.js';
import { notifyRoutes } from './http/notify/routes.js';
import { opsRoutes } from './http/ops/routes.js';
import { AppError } from './domain/errors.js';
import { registerErrorHandler, sendError } from './plugins/error-handler.js';
import { healthRoutes } from './plugins/health.js';
import { metricsRoutes, type Metrics } from './plugins/metrics.js';
import { registerOpenApi } from './plugins/openapi.js';
import { useZodSchemas } from './plugins/zod-schemas.js';
import type { Reconciler } from './jobs/reconcile.js';
import type { Database } from './store/database.js';
import type { IngestTargets } from './store/ingest.js';

export interface AppDeps {
  config: Config;
  db: Database;
  /** Every provider, configured or not (src/providers/index.ts). */
  providers: readonly Provider[];
  /** Destination ids (URLs with credentials replaced by ***) that each event is delivered to. */
  destinations: readonly string[];
  logger: FastifyBaseLogger;
  /** Shared with the forwarder and the jobs (src/services.ts). */
  metrics: Metrics;
  /** Asks the providers; its job runs beside the app. */
  reconciler: Reconciler;
  /** Where an order's events go and when it is first queried. */
  targetsFor: (provider: Provider, kind: string) => IngestTargets;
  /** A span per request (src/telemetry/sdk.ts), when tracing is on. */
  tracingPlugin?: FastifyPluginAsync | undefined;
}

/** Builds the HTTP app; listening, signals and the process belong to src/server.ts. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // One line per notification outcome is logged by the routes; per-request access lines are not.
    logController: new LogController({ disableRequestLogging: true }),
    // A caller's X-Request-Id is adopted only when it looks like one: it is logged and echoed.
    requestIdHeader: false,
    genReqId: (request) => requestIdOf(request.headers['x-request-id']),
    trustProxy: trustProxyOption(deps.config.trustProxy),
    // Slow or stalled clients must not hold sockets forever.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    // Starpay sets no length on originalMsgId; every stored order must be reachable by its path.
    routerOptions: { maxParamLength: 8_192 },
    // A path that is not valid percent-encoded UTF-8 never reaches a route: answer it like any other error.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      sendError(new AppError('BAD_REQUEST', error.message, 'The path is not valid percent-encoded UTF-8.'), request, reply);
    },
  });
  // First, so that its hooks see every route registered after it.
  if (deps.tracingPlugin !== undefined) await app.register(deps.tracingPlugin);
  // While shutting down, answer the requests in flight and close their connections behind them,
  // so that kept-alive sockets do not hold the shutdown open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });

  const { metrics, reconciler, targetsFor } = deps;

  registerErrorHandler(app);
  useZodSchemas(app);
  // Limits are per scope (/ops strict, /notify generous): none applies unless a scope asks.
  await app.register(rateLimit, { global: false });
  await registerOpenApi(app);
  await app.register(healthRoutes, { db: deps.db });
  await app.register(metricsRoutes, { metrics });
  await app.register(notifyRoutes, { config: deps.config, db: deps.db, providers: deps.providers, metrics, targetsFor });
  await app.register(opsRoutes, {
    prefix: '/ops',
    config: deps.config,
    db: deps.db,
    providers: deps.providers,
    reconciler,
    destinations: deps.destinations,
    targetsFor,
  });
  await app.register(consoleRoutes, { sso: { config: deps.config, db: deps.db } });
  return app;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** TRUST_PROXY as Fastify takes it: a hop count becomes "trust the nearest N proxies". */
function trustProxyOption(value: Config['trustProxy']): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === undefined) return false;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return value;
}
