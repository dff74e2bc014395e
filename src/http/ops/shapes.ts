import { z } from 'zod';
import { ORDER_STATES } from '../../domain/order-state.js';

/**
 * What the ops API answers: checked on every reply, described in /openapi.json, and the types the
 * console reads (src/console/api.ts imports them), so the three cannot drift apart. Imports only
 * zod and the domain: the console's type-check sees nothing of the server's runtime.
 */

const timestamp = z.iso.datetime();

export const OrderSchema = z.object({
  provider: z.string(),
  kind: z.string(),
  orderRef: z.string().describe("the provider's order reference: Starpay's originalMsgId, StarPago's merOrderNo"),
  state: z.enum(ORDER_STATES),
  rawState: z.string().nullable().describe("the provider's state as last applied; null for an order registered before any report"),
  amount: z.number().int().nullable().describe('minor units of the currency'),
  paidAmount: z.number().int().nullable().describe('the amount actually paid, when the provider says'),
  expectedAmount: z.number().int().nullable().describe('the amount registered with PUT /ops/orders/…'),
  currency: z.string().nullable(),
  trxDate: z.string().nullable(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  conflict: z.boolean().describe('a later report carried a different final state'),
  amountMismatch: z.boolean().describe('a SUCCESS report carried an amount other than the expected one'),
  stale: z.boolean().describe('still PENDING after the last reconciliation slot'),
  notificationCount: z.number().int().describe('notifications applied (query answers are not counted)'),
  lastQueriedAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const NotificationSchema = z.object({
  id: z.string().describe('ntf_<number>'),
  provider: z.string(),
  kind: z.string(),
  orderRef: z.string().nullable(),
  msgId: z.string().nullable(),
  source: z.enum(['notification', 'query']).describe("a provider's notification, or its answer to a query"),
  status: z.enum(['accepted', 'rejected', 'unverified']),
  hint: z.boolean().describe('an unsigned StarPago v3 callback: accepted or rejected only by what a query answered'),
  reason: z.string().nullable().describe('why it was rejected'),
  firstReceivedAt: timestamp,
  lastReceivedAt: timestamp,
  deliveryCount: z.number().int().describe('how many times this same notification arrived'),
  request: z.unknown().describe('the parsed request, when parseable; null once RAW_BODY_RETENTION removed it'),
  requestPurgedAt: timestamp.nullable().describe('when RAW_BODY_RETENTION removed the stored request (identity, order and events stay)'),
});

export const DeliverySchema = z.object({
  id: z.string().describe('dlv_<number>'),
  eventId: z.string().describe('evt_…, the webhook-id header'),
  url: z.string(),
  destination: z.string().describe('dst_…, the destination id (GET /ops/destinations)'),
  provider: z.string(),
  kind: z.string(),
  orderRef: z.string().describe("the order's reference"),
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: timestamp.nullable().describe('when pending'),
  deliveredAt: timestamp.nullable(),
  heldBy: z
    .string()
    .nullable()
    .describe('for a pending delivery waiting behind an earlier undelivered one of the same order and destination: that delivery (dlv_…)'),
});

export const DestinationSchema = z.object({
  id: z.string().describe('dst_ + the first 12 hex digits of the SHA-256 of the redacted URL'),
  url: z.string().describe('credentials replaced by ***'),
  type: z.enum(['http', 'amqp', 'nats']),
  state: z.enum(['healthy', 'open', 'paused']).describe('open: the circuit breaker is open; paused: by an operator'),
  pending: z.number().int(),
  dead: z.number().int(),
  consecutiveFailures: z.number().int().describe('failed attempts since the last success, across replicas'),
  lastSuccessAt: timestamp.nullable(),
  lastFailureAt: timestamp.nullable(),
  openedAt: timestamp.nullable().describe('when the breaker last opened'),
  nextProbeAt: timestamp.nullable().describe('when open: the next probe'),
});

export const EventSchema = z.object({
  id: z.string().describe('evt_…, the webhook-id header'),
  type: z.string().describe('<provider>.<kind>.state_changed'),
  createdAt: timestamp,
  data: z.unknown().describe('the `data` of the webhook body, as sent'),
});

export const DeliveryAttemptSchema = z.object({
  at: timestamp.describe('when the attempt started'),
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable().describe('the downstream reply status; null when no reply came'),
  error: z.string().nullable(),
});

export const OrderDetailSchema = z.object({
  order: OrderSchema,
  notifications: z.array(NotificationSchema).describe('notifications, query answers and hints of the order, oldest first'),
  events: z.array(EventSchema).describe('one per state change, oldest first'),
  deliveries: z.array(DeliverySchema.extend({ attemptLog: z.array(DeliveryAttemptSchema).describe('every attempt, oldest first') })).describe('oldest first'),
});

export type OrderView = z.output<typeof OrderSchema>;
export type NotificationView = z.output<typeof NotificationSchema>;
export type DeliveryView = z.output<typeof DeliverySchema>;
export type EventView = z.output<typeof EventSchema>;
export type DeliveryAttemptView = z.output<typeof DeliveryAttemptSchema>;
export type DestinationView = z.output<typeof DestinationSchema>;
