import { destinationId } from '../domain/destination-id.js';
import type { OrderState } from '../domain/order-state.js';
import type { Delivery, DeliveryAttempt, Event, Notification, Order } from '../generated/prisma/client.js';
// The reply schemas' types: a field added to a schema and not here (or here and not there) fails the build.
import type { DeliveryAttemptView, DeliveryView, EventView, NotificationView, OrderView } from '../http/ops/shapes.js';

/** Ids exposed by the ops API carry a prefix, so a pasted id says what it is. */
export const NOTIFICATION_ID_PREFIX = 'ntf_';
export const DELIVERY_ID_PREFIX = 'dlv_';

export function orderView(order: Order): OrderView {
  return {
    provider: order.provider,
    kind: order.kind,
    orderRef: order.orderRef,
    state: order.state as OrderState, // orders_state_check holds it to ORDER_STATES
    rawState: order.rawState,
    amount: toNumber(order.amount),
    paidAmount: toNumber(order.paidAmount),
    expectedAmount: toNumber(order.expectedAmount),
    currency: order.currency,
    trxDate: order.trxDate,
    errorCode: order.errorCode,
    errorMessage: order.errorMessage,
    conflict: order.conflict,
    amountMismatch: order.amountMismatch,
    stale: order.stale,
    notificationCount: order.notificationCount,
    lastQueriedAt: order.lastQueriedAt?.toISOString() ?? null,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

export function notificationView(notification: Notification): NotificationView {
  return {
    id: `${NOTIFICATION_ID_PREFIX}${notification.id}`,
    provider: notification.provider,
    kind: notification.kind,
    orderRef: notification.orderRef,
    msgId: notification.msgId,
    // check constraints on the columns hold these to the schema's values
    source: notification.source as NotificationView['source'],
    status: notification.status as NotificationView['status'],
    hint: notification.hint,
    reason: notification.reason,
    firstReceivedAt: notification.firstReceivedAt.toISOString(),
    lastReceivedAt: notification.lastReceivedAt.toISOString(),
    deliveryCount: notification.deliveryCount,
    request: notification.request,
    requestPurgedAt: notification.requestPurgedAt?.toISOString() ?? null,
  };
}

/** What a delivery view reads besides the row: its event's public id and its order. */
export type DeliveryRow = Delivery & { event: { publicId: string }; order: { provider: string; kind: string; orderRef: string } };

/** `heldBy`: the earliest undelivered delivery of the same order and destination, for a pending one waiting behind it. */
export function deliveryView(delivery: DeliveryRow, heldBy?: bigint | null): DeliveryView {
  return {
    id: `${DELIVERY_ID_PREFIX}${delivery.id}`,
    eventId: delivery.event.publicId,
    url: delivery.url,
    destination: destinationId(delivery.url),
    provider: delivery.order.provider,
    kind: delivery.order.kind,
    orderRef: delivery.order.orderRef,
    status: delivery.status as DeliveryView['status'], // a check constraint holds it
    attempts: delivery.attempts,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    heldBy: delivery.status === 'pending' && heldBy !== undefined && heldBy !== null ? `${DELIVERY_ID_PREFIX}${heldBy}` : null,
  };
}

/** Amounts are bigint columns; every amount the providers send fits a double exactly. */
function toNumber(value: bigint | null): number | null {
  return value === null ? null : Number(value);
}

/** An event as its webhook carried it: `data` is read back from the exact body that was sent. */
export function eventView(event: Event): EventView {
  const body = JSON.parse(event.body) as { data?: unknown };
  return {
    id: event.publicId,
    type: event.type,
    createdAt: event.createdAt.toISOString(),
    data: body.data ?? null,
  };
}

export function attemptView(attempt: DeliveryAttempt): DeliveryAttemptView {
  return {
    at: attempt.startedAt.toISOString(),
    durationMs: attempt.durationMs,
    statusCode: attempt.statusCode,
    error: attempt.error,
  };
}
