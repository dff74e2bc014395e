import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../domain/errors.js';
import { ORDER_STATES } from '../../domain/order-state.js';
import type { Database } from '../../store/database.js';
import { findOrderDetail, listOrders } from '../../store/orders.js';
import { IdKeySchema, LimitSchema, cursorSchema, encodeCursor } from './pagination.js';
import { OPS_SECURITY, OrderDetailSchema, OrderSchema, errorReplies, pageSchema, OrderRefPrefixSchema, OrderRefSchema, type Catalogue } from './schemas.js';

// Any kind is looked up: an unknown one names no order (404), like an unknown orderRef.
const orderParamsSchema = (catalogue: Catalogue) =>
  z.object({
    kind: z
      .string()
      .min(1)
      .describe(`one of ${catalogue.kinds.join(', ')}`),
    orderRef: OrderRefSchema,
  });

const instant = z.iso
  .datetime({ offset: true })
  .transform((text) => new Date(text))
  .describe('ISO 8601 date-time with Z or an offset');

const OrderKeySchema = z.object({ u: z.iso.datetime(), i: IdKeySchema }).transform((key) => ({ updatedAt: new Date(key.u), id: key.i }));

const flag = z
  .enum(['true', 'false'])
  .transform((value) => value === 'true')
  .optional();

const orderListQuerySchema = (catalogue: Catalogue) =>
  z.strictObject({
    provider: catalogue.provider.optional(),
    kind: catalogue.kind.optional(),
    orderRef: OrderRefPrefixSchema.optional().describe('orders whose reference starts with this text'),
    state: z.enum(ORDER_STATES).optional(),
    conflict: flag,
    stale: flag,
    amountMismatch: flag,
    updatedAfter: instant.optional().describe('orders updated strictly after this instant'),
    updatedBefore: instant.optional().describe('orders updated strictly before this instant'),
    limit: LimitSchema,
    cursor: cursorSchema(OrderKeySchema).optional(),
  });

export async function orderRoutes(app: FastifyInstance, options: { db: Database; catalogue: Catalogue }): Promise<void> {
  const OrderListQuerySchema = orderListQuerySchema(options.catalogue);
  const OrderParamsSchema = orderParamsSchema(options.catalogue);
  app.get<{ Querystring: z.output<typeof OrderListQuerySchema> }>(
    '/orders',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'List orders, most recently updated first',
        querystring: OrderListQuerySchema,
        response: { 200: pageSchema(OrderSchema), ...errorReplies(400, 401, 429) },
      },
    },
    async (request) => {
      const { cursor, ...filters } = request.query;
      const page = await listOrders(options.db.prisma, { ...filters, after: cursor });
      const next = page.next === null ? null : encodeCursor({ u: page.next.updatedAt.toISOString(), i: String(page.next.id) });
      return { items: page.items, nextCursor: next };
    },
  );

  app.get<{ Params: z.output<typeof OrderParamsSchema> }>(
    '/orders/:kind/:orderRef',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'One order with its accepted notifications, its events and its deliveries with their attempts',
        params: OrderParamsSchema,
        response: { 200: OrderDetailSchema, ...errorReplies(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const detail = await findOrderDetail(options.db.prisma, request.params.kind, request.params.orderRef);
      if (detail === undefined) throw new AppError('NOT_FOUND', undefined, 'No such order.');
      return detail;
    },
  );
}
