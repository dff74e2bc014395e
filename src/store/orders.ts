import type { PrismaClient } from '../generated/prisma/client.js';
import { deliveryView, notificationView, orderView } from './ops-views.js';
import { toPage, type Page } from './page.js';

/** One order with its accepted notifications and its deliveries, oldest first; undefined if unknown. */
export async function findOrderDetail(prisma: PrismaClient, kind: string, orderRef: string) {
  const order = await prisma.order.findUnique({ where: { kind_orderRef: { kind, orderRef } } });
  if (order === null) return undefined;
  const [notifications, deliveries] = await Promise.all([
    // Notifications, query answers and hints; refused requests are listed on their own.
    prisma.notification.findMany({ where: { kind, orderRef, dedupKey: { not: { startsWith: 'body:' } } }, orderBy: { id: 'asc' } }),
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

/** Where an order listing resumes: the (updatedAt, id) of the previous page's last order. */
export interface OrderKey {
  updatedAt: Date;
  id: bigint;
}

export interface OrderListQuery {
  provider?: string | undefined;
  kind?: string | undefined;
  state?: string | undefined;
  conflict?: boolean | undefined;
  stale?: boolean | undefined;
  amountMismatch?: boolean | undefined;
  updatedAfter?: Date | undefined;
  updatedBefore?: Date | undefined;
  limit: number;
  after?: OrderKey | undefined;
}

/** Orders, most recently updated first; served by the orders_*updated_at_idx indexes. */
export async function listOrders(prisma: PrismaClient, query: OrderListQuery): Promise<Page<ReturnType<typeof orderView>, OrderKey>> {
  const { after } = query;
  const rows = await prisma.order.findMany({
    where: {
      provider: query.provider,
      kind: query.kind,
      state: query.state,
      conflict: query.conflict,
      stale: query.stale,
      amountMismatch: query.amountMismatch,
      updatedAt: { gt: query.updatedAfter, lt: query.updatedBefore },
      // (updated_at, id) < (after): the redundant `lte` bounds the index scan, the OR breaks ties.
      AND: after === undefined ? [] : [{ updatedAt: { lte: after.updatedAt } }, { OR: [{ updatedAt: { lt: after.updatedAt } }, { id: { lt: after.id } }] }],
    },
    orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return toPage(rows, query.limit, orderView, (row) => ({ updatedAt: row.updatedAt, id: row.id }));
}

/** Orders flagged stale and flagged with an amount mismatch, for /metrics (partial-index counts). */
export async function countFlaggedOrders(prisma: PrismaClient): Promise<{ stale: number; amountMismatches: number }> {
  const [stale, amountMismatches] = await Promise.all([
    prisma.order.count({ where: { stale: true } }),
    prisma.order.count({ where: { amountMismatch: true } }),
  ]);
  return { stale, amountMismatches };
}
