import { z } from 'zod';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export const LimitSchema = z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).describe(`page size, at most ${MAX_LIMIT}`);

/**
 * Cursors are opaque to clients: base64url JSON of the last row's sort key. Pages are keyset
 * pages (`WHERE key < cursor`), so rows inserted between two requests never shift a page.
 */
export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** A `cursor` query parameter that decodes into the listing's sort key, or fails validation. */
export function cursorSchema<Key extends z.ZodType>(key: Key) {
  return z
    .string()
    .max(512)
    .transform((text, ctx) => {
      const parsed = key.safeParse(decodeJson(text));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: 'not a cursor of this listing' });
      return z.NEVER;
    })
    .describe('nextCursor of the previous page');
}

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Row ids travel as decimal strings (bigint); anything else is not a cursor. */
export const IdKeySchema = z
  .string()
  .regex(/^\d{1,19}$/)
  .transform(BigInt);
