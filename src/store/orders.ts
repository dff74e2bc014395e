import type { PrismaClient } from '../generated/prisma/client.js';
import { recordAudit, type AuditEntryOf } from './audit.js';
import { attemptView, deliveryView, eventView, notificationView, orderView } from './ops-views.js';
import { heldByOf } from './deliveries.js';
import { toPage, type Page } from './page.js';

/**
 * One order with its accepted notifications, its events and its deliveries (each with every
 * attempt), all oldest first; undefined if unknown.
 */
export async function findOrderDetail(prisma: PrismaClient, kind: string, orderRef: string) {
  const order = await prisma.order.findUnique({ where: { kind_orderRef: { kind, orderRef } } });
  if (order === null) return undefined;
  const [notifications, events, deliveries] = await Promise.all([
    // Notifications, query answers and hints; refused requests are listed on their own.
    prisma.notification.findMany({ where: { kind, orderRef, dedupKey: { not: { startsWith: 'body:' } } }, orderBy: { id: 'asc' } }),
    prisma.event.findMany({ where: { orderId: order.id }, orderBy: { id: 'asc' } }),
    prisma.delivery.findMany({
      where: { orderId: order.id },
      include: {
        event: { select: { publicId: true } },
        order: { select: { provider: true, kind: true, orderRef: true } },
        // Attempts are recorded in batches, so their ids need not follow their start times.
        attemptsLog: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] },
      },
      orderBy: { id: 'asc' },
    }),
  ]);
  const held = await heldByOf(prisma, deliveries);
  return {
    order: orderView(order),
    notifications: notifications.map(notificationView),
    events: events.map(eventView),
    deliveries: deliveries.map((delivery) => ({ ...deliveryView(delivery, held.get(delivery.id)), attemptLog: delivery.attemptsLog.map(attemptView) })),
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
  /** A prefix of the order reference. */
  orderRef?: string | undefined;
  state?: string | undefined;
  conflict?: boolean | undefined;
  stale?: boolean | undefined;
  amountMismatch?: boolean | undefined;
  updatedAfter?: Date | undefined;
  updatedBefore?: Date | undefined;
  limit: number;
  after?: OrderKey | undefined;
}

/**
 * Orders, most recently updated first; served by the orders_*updated_at_idx indexes, or by
 * orders_order_ref_pattern_idx when searching by a reference prefix.
 */
export async function listOrders(prisma: PrismaClient, query: OrderListQuery): Promise<Page<ReturnType<typeof orderView>, OrderKey>> {
  const { after } = query;
  const rows = await prisma.order.findMany({
    where: {
      provider: query.provider,
      kind: query.kind,
      orderRef: query.orderRef === undefined ? undefined : { startsWith: escapeLike(query.orderRef) },
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

/** Prisma passes `startsWith` into LIKE as it is: a typed `%` or `_` must match only itself. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** Orders flagged stale and flagged with an amount mismatch, for /metrics (partial-index counts). */
export async function countFlaggedOrders(prisma: PrismaClient): Promise<{ pending: number; stale: number; amountMismatches: number }> {
  const [pending, stale, amountMismatches] = await Promise.all([
    prisma.order.count({ where: { state: 'PENDING' } }),
    prisma.order.count({ where: { stale: true } }),
    prisma.order.count({ where: { amountMismatch: true } }),
  ]);
  return { pending, stale, amountMismatches };
}

/** One order in the ops shape, or undefined. */
export async function findOrder(prisma: PrismaClient, kind: string, orderRef: string) {
  const order = await prisma.order.findUnique({ where: { kind_orderRef: { kind, orderRef } } });
  return order === null ? undefined : orderView(order);
}

export interface ExpectedOrder {
  provider: string;
  kind: string;
  orderRef: string;
  amount: number;
  currency: string;
  /** The first reconciliation slot, or null when orders of this kind cannot be queried. */
  firstQueryAfterMs: number | null;
}

/**
 * Registers an order the merchant created: a new one is PENDING with its expected amount and
 * enters the reconciliation schedule; an existing one gets its expected amount (and is flagged if
 * it already succeeded with another amount). One transaction.
 */
export async function registerExpectedOrder(prisma: PrismaClient, expected: ExpectedOrder, audit: AuditEntryOf) {
  const { provider, kind, orderRef, amount, currency, firstQueryAfterMs } = expected;
  return prisma.$transaction(async (tx) => {
    // What the audit record says it was: read under the row lock the upsert takes anyway.
    const previous = await tx.$queryRaw<{ expected_amount: bigint | null }[]>`
      SELECT expected_amount FROM orders WHERE kind = ${kind} AND order_ref = ${orderRef} FOR UPDATE`;
    const rows = await tx.$queryRaw<{ id: bigint; created: boolean }[]>`
      INSERT INTO orders AS o (provider, kind, order_ref, state, expected_amount, currency, notification_count)
      VALUES (${provider}, ${kind}, ${orderRef}, 'PENDING', ${amount}, ${currency}, 0)
      ON CONFLICT ON CONSTRAINT orders_kind_order_ref_key DO UPDATE SET
        expected_amount = EXCLUDED.expected_amount,
        currency = coalesce(o.currency, EXCLUDED.currency),
        -- re-decided against the new expectation: a corrected amount clears the flag
        amount_mismatch = o.state = 'SUCCESS' AND amount_mismatch(EXCLUDED.expected_amount, coalesce(o.paid_amount, o.amount), o.currency, EXCLUDED.currency, true),
        updated_at = now()
      WHERE NOT currency_differs(o.currency, EXCLUDED.currency)
      RETURNING id, (xmax = 0) AS created`;
    const row = rows[0];
    // The order exists in another currency: an amount in this one cannot be compared with it.
    if (row === undefined) return 'currency-mismatch' as const;
    if (row.created) {
      await tx.$executeRaw`SELECT enter_schedule(${kind}, ${orderRef}, ${provider}, now() + ${firstQueryAfterMs}::bigint * interval '1 millisecond')`;
    }
    const order = orderView(await tx.order.findUniqueOrThrow({ where: { id: row.id } }));
    const previousExpectedAmount = previous[0]?.expected_amount ?? null;
    await recordAudit(
      tx,
      audit(
        {
          created: row.created,
          previousExpectedAmount: previousExpectedAmount === null ? null : Number(previousExpectedAmount),
          expectedAmount: amount,
          currency,
        },
        row.created ? 201 : 200,
      ),
    );
    return { order, created: row.created };
  });
}
