import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../domain/errors.js';
import type { Database } from '../../store/database.js';
import { listDeliveries, retryDelivery } from '../../store/deliveries.js';
import { DELIVERY_ID_PREFIX } from '../../store/ops-views.js';
import { withAudit } from './audit.js';
import { IdKeySchema, LimitSchema, cursorSchema, encodeCursor } from './pagination.js';
import { DeliverySchema, OPS_SECURITY, errorReplies, pageSchema } from './schemas.js';

export const DeliveryListQuerySchema = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  limit: LimitSchema,
  cursor: cursorSchema(z.object({ i: IdKeySchema }).transform((key) => key.i)).optional(),
});

const DeliveryParamsSchema = z.object({ id: z.string().describe(`${DELIVERY_ID_PREFIX}<number>`) });

export async function deliveryRoutes(app: FastifyInstance, options: { db: Database; destinations: readonly string[] }): Promise<void> {
  app.get<{ Querystring: z.output<typeof DeliveryListQuerySchema> }>(
    '/deliveries',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'List webhook deliveries, newest first',
        querystring: DeliveryListQuerySchema,
        response: { 200: pageSchema(DeliverySchema), ...errorReplies(400, 401, 429) },
      },
    },
    async (request) => {
      const { cursor, ...filters } = request.query;
      const page = await listDeliveries(options.db.prisma, { ...filters, after: cursor });
      return { items: page.items, nextCursor: page.next === null ? null : encodeCursor({ i: String(page.next) }) };
    },
  );

  app.post<{ Params: z.output<typeof DeliveryParamsSchema> }>(
    '/deliveries/:id/retry',
    {
      config: { action: 'delivery.retry' },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Attempt a dead or pending delivery again now',
        description: 'The delivery becomes pending and due now, and the forwarder is woken. Its attempt count is kept.',
        params: DeliveryParamsSchema,
        response: {
          202: z.object({ delivery: DeliverySchema }).describe('Accepted: the delivery is pending and due'),
          ...errorReplies(401, 403, 404, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const id = parseDeliveryId(request.params.id);
      const result = id === undefined ? 'not-found' : await withAudit(request, 202, (audit) => retryDelivery(options.db, id, options.destinations, audit));
      if (result === 'not-found') throw new AppError('NOT_FOUND', undefined, 'No such delivery.');
      if (result === 'already-delivered') throw new AppError('ALREADY_DELIVERED');
      if (result === 'destination-removed') throw new AppError('DESTINATION_REMOVED');
      request.log.info({ deliveryId: request.params.id }, 'delivery retry requested');
      return reply.code(202).send({ delivery: result.retried });
    },
  );
}

/** `dlv_123` (or a bare 123) → 123n; anything else names no delivery. */
function parseDeliveryId(text: string): bigint | undefined {
  const match = /^(?:dlv_)?(\d{1,18})$/.exec(text);
  return match?.[1] === undefined ? undefined : BigInt(match[1]);
}
