import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Database } from '../../store/database.js';
import { listNotifications } from '../../store/notifications.js';
import { IdKeySchema, LimitSchema, cursorSchema, encodeCursor } from './pagination.js';
import { NotificationSchema, OPS_SECURITY, errorReplies, pageSchema, OrderRefSchema, type Catalogue } from './schemas.js';

const notificationListQuerySchema = (catalogue: Catalogue) =>
  z.strictObject({
    status: z.enum(['accepted', 'rejected', 'unverified']).optional(),
    source: z.enum(['notification', 'query']).optional(),
    kind: catalogue.kind.optional(),
    orderRef: OrderRefSchema.optional(),
    hint: z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional()
      .describe('true: StarPago v3 hints only; false: the rest (the refused requests, with status=rejected)'),
    limit: LimitSchema,
    cursor: cursorSchema(z.object({ i: IdKeySchema }).transform((key) => key.i)).optional(),
  });

export async function notificationRoutes(app: FastifyInstance, options: { db: Database; catalogue: Catalogue }): Promise<void> {
  const NotificationListQuerySchema = notificationListQuerySchema(options.catalogue);
  app.get<{ Querystring: z.output<typeof NotificationListQuerySchema> }>(
    '/notifications',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'List notifications and query answers, accepted, rejected and unverified, newest first',
        querystring: NotificationListQuerySchema,
        response: { 200: pageSchema(NotificationSchema), ...errorReplies(400, 401, 429) },
      },
    },
    async (request) => {
      const { cursor, ...filters } = request.query;
      const page = await listNotifications(options.db.prisma, { ...filters, after: cursor });
      return { items: page.items, nextCursor: page.next === null ? null : encodeCursor({ i: String(page.next) }) };
    },
  );
}
