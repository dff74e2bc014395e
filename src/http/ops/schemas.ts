import { ORDER_REF_PATTERN, ORDER_REF_RULE } from '../../domain/order-ref.js';
import { z } from 'zod';
import { ORDER_STATES } from '../../domain/order-state.js';
import { ErrorBodySchema } from '../../plugins/error-handler.js';
import type { Provider } from '../../domain/provider.js';

/** The shapes of the ops API, shared by the reply check and /openapi.json. */

/**
 * The providers and order kinds an app serves (kinds are unique across providers): its ops filters
 * and paths accept exactly these, so a provider added to the list needs nothing here.
 */
export function catalogueOf(providers: readonly Provider[]) {
  return {
    provider: z.enum(providers.map((provider) => provider.name) as [string, ...string[]]),
    kind: z.enum(providers.flatMap((provider) => provider.kinds) as [string, ...string[]]),
    kinds: providers.flatMap((provider) => provider.kinds),
  };
}
export type Catalogue = ReturnType<typeof catalogueOf>;

/**
 * An order reference given by an ops caller. PostgreSQL text holds neither NUL nor a lone
 * surrogate (references stored with one hold U+FFFD instead): such input is a clear 400.
 */
/** An order reference in a path: the one alphabet every reference is held to. */
export const OrderRefSchema = z.string().regex(ORDER_REF_PATTERN, `must be ${ORDER_REF_RULE}`);
/** A prefix to search by: any text, so that references stored before the alphabet stay findable. */
export const OrderRefPrefixSchema = z
  .string()
  .min(1)
  .max(8_192)
  .refine((text) => !text.includes('\0') && text.isWellFormed(), 'must not contain NUL or a lone surrogate');
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
  403: 'The bearer may only read: the action needs scope operate (FORBIDDEN_SCOPE)',
  404: 'Not found (NOT_FOUND)',
  409: 'Conflicts with the resource: already delivered, destination removed, not queryable, or in another currency (ALREADY_DELIVERED, DESTINATION_REMOVED, NOT_QUERYABLE, CURRENCY_MISMATCH)',
  429: 'Too many requests from this address (RATE_LIMITED)',
  502: 'The provider could not be asked, said to try later, or answered unverifiably (PROVIDER_UNAVAILABLE)',
} as const;

/** Error replies of an ops route, described in /openapi.json. */
export function errorReplies(...statuses: (keyof typeof ERROR_DESCRIPTIONS)[]): Record<string, z.ZodType> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBodySchema.describe(ERROR_DESCRIPTIONS[status])]));
}

/** How /openapi.json says these routes need the bearer token. */
export const OPS_SECURITY = [{ opsToken: [] }];
