import secureJson from 'secure-json-parse';

/**
 * Reading a notification body as JSON with bounded work: UTF-8 only, nesting checked on the text
 * before the parser runs, prototype keys refused. Shared by every provider.
 */

/** Deeper JSON is refused before it is parsed: no provider nests anywhere near this. */
export const MAX_JSON_DEPTH = 32;

/** Why a body is not JSON a provider could have sent; each provider maps it to INVALID_ENVELOPE. */
export class JsonBodyError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 (a BOM is dropped); invalid UTF-8 is refused. */
export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new JsonBodyError('body is not valid UTF-8');
  }
}

/** Whether arrays and objects nest deeper than `limit` in the text; one pass, strings skipped. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/** JSON text parsed with the depth bound, refusing `__proto__` and `constructor.prototype` keys. */
export function parseJsonText(text: string): unknown {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new JsonBodyError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new JsonBodyError('body is not valid JSON');
  }
}

/**
 * How deeply objects nest inside a value: `{"a":{"b":{}}}` has 2 below its top level (arrays are
 * looked through, not counted). The value was parsed under MAX_JSON_DEPTH, so this stays shallow.
 */
export function objectDepthBelow(value: unknown): number {
  let deepest = 0;
  const children = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [];
  for (const child of children) {
    const own = typeof child === 'object' && child !== null && !Array.isArray(child) ? 1 : 0;
    deepest = Math.max(deepest, own + objectDepthBelow(child));
  }
  return deepest;
}
