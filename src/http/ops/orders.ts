import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../domain/errors.js';
import { NOTIFICATION_KINDS } from '../../starpay/notification.js';
import type { Database } from '../../store/database.js';
import { findOrderDetail } from '../../store/orders.js';

export const OrderParamsSchema = z.object({
  kind: z.enum(NOTIFICATION_KINDS),
  orderRef: z.string().min(1).max(256),
});

export async function orderRoutes(app: FastifyInstance, options: { db: Database }): Promise<void> {
  app.get('/orders/:kind/:orderRef', async (request) => {
    const params = OrderParamsSchema.safeParse(request.params);
    if (!params.success) {
      const name = params.error.issues[0]?.path.join('.') ?? 'params';
      throw new AppError('INVALID_PARAMETER', name, `invalid parameter: ${name}`);
    }
    const detail = await findOrderDetail(options.db.prisma, params.data.kind, params.data.orderRef);
    if (detail === undefined) throw new AppError('NOT_FOUND', undefined, 'No such order.');
    return detail;
  });
}
