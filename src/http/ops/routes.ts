import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import { notFoundHandler } from '../../plugins/error-handler.js';
import type { Provider } from '../../domain/provider.js';
import type { Reconciler } from '../../jobs/reconcile.js';
import type { Database } from '../../store/database.js';
import type { IngestTargets } from '../../store/ingest.js';
import { perClientLimit } from '../client-limit.js';
import { findSession } from '../../store/sessions.js';
import { auditRefusedActions, auditRoutes } from './audit.js';
import { requireBearerToken, requireOperateScopeForActions } from './auth.js';
import { deliveryRoutes } from './deliveries.js';
import { destinationRoutes } from './destinations.js';
import { destinationRef } from '../../domain/destination-id.js';
import { notificationRoutes } from './notifications.js';
import { orderRoutes } from './orders.js';
import { providerRoutes } from './providers.js';
import { reconcileRoutes } from './reconcile.js';
import { sessionRoutes } from './session.js';
import { summaryRoutes } from './summary.js';
import { catalogueOf } from './schemas.js';

export interface OpsRoutesOptions {
  config: Config;
  db: Database;
  providers: readonly Provider[];
  reconciler: Reconciler;
  /** Configured destination ids: a delivery to another one cannot be retried. */
  destinations: readonly string[];
  targetsFor: (provider: Provider, kind: string) => IngestTargets;
}

/** Everything under /ops (registered with that prefix), behind the bearer token, unknown paths included. */
export async function opsRoutes(app: FastifyInstance, options: OpsRoutesOptions): Promise<void> {
  // Orders, payloads and errors must never sit in a browser's or a proxy's cache.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });
  // Before the token check, so that guessing tokens is throttled too; local callers are exempt.
  if (options.config.rateLimits.ops > 0) {
    const limit = app.rateLimit(perClientLimit(options.config.rateLimits.ops));
    app.addHook('onRequest', limit);
  }
  requireBearerToken(app, { tokens: options.config.opsTokens, findSession: (hash) => findSession(options.db.prisma, hash) });
  requireOperateScopeForActions(app);
  auditRefusedActions(app, options.db);
  // Its own not-found handler, so that unknown /ops paths pass the rate limit and the token check too.
  app.setNotFoundHandler(notFoundHandler);
  // The providers and kinds the ops filters and paths accept: those this app serves.
  const catalogue = catalogueOf(options.providers);
  await app.register(orderRoutes, { db: options.db, catalogue });
  await app.register(notificationRoutes, { db: options.db, catalogue });
  await app.register(deliveryRoutes, { db: options.db, destinations: options.destinations });
  await app.register(destinationRoutes, { db: options.db, destinations: options.destinations.map(destinationRef), catalogue });
  await app.register(reconcileRoutes, {
    db: options.db,
    providers: options.providers,
    reconciler: options.reconciler,
    targetsFor: options.targetsFor,
    catalogue,
  });
  await app.register(summaryRoutes, { db: options.db, catalogue });
  await app.register(providerRoutes, { providers: options.providers });
  await app.register(auditRoutes, { db: options.db });
  await app.register(sessionRoutes, { db: options.db });
}
