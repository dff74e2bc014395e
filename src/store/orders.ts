import type { PrismaClient } from '../generated/prisma/client.js';
import { deliveryView, notificationView, orderView } from './ops-views.js';

/** One order with its accepted notifications and its deliveries, oldest first; undefined if unknown. */
export async function findOrderDetail(prisma: PrismaClient, kind: string, orderRef: string) {
  const order = await prisma.order.findUnique({ where: { kind_orderRef: { kind, orderRef } } });
  if (order === null) return undefined;
  const [notifications, deliveries] = await Promise.all([
    prisma.notification.findMany({ where: { kind, orderRef, status: 'accepted' }, orderBy: { id: 'asc' } }),
    prisma.delivery.findMany({
      where: { orderId: order.id },
      include: { event: { select: { publicId: true } } },
      orderBy: { id: 'asc' },
    }),
  ]);
  return {
    order: orderView(order),
    notifications: notifications.map(notificationView),
    deliveries: deliveries.map(deliveryView),
  };
}
