import { z } from 'zod';
import { ORDER_STATES } from '../../domain/order-state.js';
import { ErrorBodySchema } from '../../plugins/error-handler.js';
import { NOTIFICATION_KINDS } from '../../starpay/notification.js';

/** The shapes of CONTRACT §4, shared by the reply check and /openapi.json. */

export const KindSchema = z.enum(NOTIFICATION_KINDS);
const timestamp = z.iso.datetime();

export const OrderSchema = z.object({
  kind: KindSchema,
  orderRef: z.string().describe("Starpay's originalMsgId"),
  state: z.enum(ORDER_STATES),
  rawState: z.string().describe('trxState as last received'),
  amount: z.number().int().nullable().describe('centavos'),
  currency: z.string().nullable(),
  trxDate: z.string().nullable(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  conflict: z.boolean().describe('a later notification carried a different final state'),
  notificationCount: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const NotificationSchema = z.object({
  id: z.string().describe('ntf_<number>'),
  kind: z.string(),
  orderRef: z.string().nullable(),
  msgId: z.string().nullable(),
  status: z.enum(['accepted', 'rejected']),
  reason: z.string().nullable().describe('the refusal code, for rejected ones'),
  firstReceivedAt: timestamp,
  lastReceivedAt: timestamp,
  deliveryCount: z.number().int().describe('how many times this same notification arrived'),
  request: z.unknown().describe('the parsed request, when parseable'),
});

export const DeliverySchema = z.object({
  id: z.string().describe('dlv_<number>'),
  eventId: z.string().describe('evt_…, the webhook-id header'),
  url: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: timestamp.nullable().describe('when pending'),
  deliveredAt: timestamp.nullable(),
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
  notifications: z.array(NotificationSchema).describe('accepted ones, oldest first'),
  events: z.array(EventSchema).describe('one per state change, oldest first'),
  deliveries: z
    .array(DeliverySchema.extend({ attemptLog: z.array(DeliveryAttemptSchema).describe('every attempt, oldest first') }))
    .describe('oldest first'),
});

export function pageSchema<Item extends z.ZodType>(item: Item) {
  return z
    .object({
      items: z.array(item).describe('newest first'),
      nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
    })
    .describe('One page');
}

const ERROR_DESCRIPTIONS = {
  400: 'A bad parameter; the message names it (INVALID_PARAMETER)',
  401: 'Missing or wrong bearer token (UNAUTHORIZED)',
  404: 'Not found (NOT_FOUND)',
  409: 'Already delivered (ALREADY_DELIVERED)',
  429: 'Too many requests from this address (RATE_LIMITED)',
} as const;

/** Error replies of an ops route, described in /openapi.json. */
export function errorReplies(...statuses: (keyof typeof ERROR_DESCRIPTIONS)[]): Record<string, z.ZodType> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBodySchema.describe(ERROR_DESCRIPTIONS[status])]));
}

/** How /openapi.json says these routes need the bearer token. */
export const OPS_SECURITY = [{ opsToken: [] }];
