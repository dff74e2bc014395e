import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ORDER_STATES } from '../../domain/order-state.js';
import type { Database } from '../../store/database.js';
import { summarise } from '../../store/summary.js';
import { OPS_SECURITY, errorReplies, type Catalogue } from './schemas.js';

const count = z.number().int();
const perState = z.object(Object.fromEntries(ORDER_STATES.map((state) => [state, count])) as Record<(typeof ORDER_STATES)[number], typeof count>);

const SummarySchema = z.object({
  orders: z.record(z.string(), perState).describe('orders per kind and state'),
  conflicts: count,
  stale: count,
  amountMismatches: count,
  deliveries: z.object({ pending: count, dead: count }),
  lastNotificationAt: z
    .record(z.string(), z.iso.datetime().nullable())
    .describe('the last provider notification accepted, per kind (query answers not counted)'),
});

export async function summaryRoutes(app: FastifyInstance, options: { db: Database; catalogue: Catalogue }): Promise<void> {
  app.get(
    '/summary',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Counts of orders, flags and deliveries, and the last notification per kind',
        response: { 200: SummarySchema, ...errorReplies(401, 429) },
      },
    },
    async () => summarise(options.db.pool, options.catalogue.kinds),
  );
}
