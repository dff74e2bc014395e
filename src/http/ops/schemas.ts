import { ORDER_REF_PATTERN, ORDER_REF_RULE } from '../../domain/order-ref.js';
import { z } from 'zod';
import { ErrorBodySchema } from '../../plugins/error-handler.js';
import type { Provider } from '../../domain/provider.js';

/** The ops API's parameters, error replies and security; its answers' shapes are in ./shapes.ts. */
export { DeliveryAttemptSchema, DeliverySchema, DestinationSchema, EventSchema, NotificationSchema, OrderDetailSchema, OrderSchema } from './shapes.js';

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
