/**
 * What the service keeps of requests it could not trust (refused requests, unsigned hints) is
 * bounded in bytes, whatever their size within NOTIFY_BODY_LIMIT.
 */

/** Bytes kept of a refused request (body and parsed request together), and of a hint's request. */
export const FORENSIC_BYTES = 8 * 1024;

/** Bytes of a value as PostgreSQL prints it from jsonb (a space after every `:` and `,`). */
export function jsonbBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8') + separators(value);
}

function separators(value: unknown): number {
  if (Array.isArray(value)) return Math.max(0, value.length - 1) + value.reduce((sum: number, item) => sum + separators(item), 0);
  if (typeof value === 'object' && value !== null) {
    const inner = Object.values(value);
    return Math.max(0, 2 * inner.length - 1) + inner.reduce((sum: number, item) => sum + separators(item), 0);
  }
  return 0;
}

/** At most `maxBytes` of UTF-8, cut on a character boundary. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let cut = bytes.subarray(0, maxBytes).toString('utf8');
  // A character split by the cut decodes as U+FFFD (three bytes): drop it.
  while (Buffer.byteLength(cut, 'utf8') > maxBytes) cut = cut.slice(0, -1);
  return cut;
}

/** A parsed request within `maxBytes`: whole when it fits, else the named fields (values cut short) and `truncated: true`. */
export function boundedRequest(request: Record<string, unknown>, keep: readonly string[], maxBytes = FORENSIC_BYTES): Record<string, unknown> {
  if (jsonbBytes(request) <= maxBytes) return request;
  const kept: Record<string, unknown> = { truncated: true };
  const share = Math.floor((maxBytes - 64) / Math.max(1, keep.length)) - 32;
  for (const name of keep) {
    const value = request[name];
    if (typeof value === 'string') kept[name] = truncateUtf8(value, share);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) kept[name] = value;
  }
  return kept;
}

/**
 * A refused request's body and parsed request, `maxBytes` together: both when they fit; else the
 * request when it is small, with the body cut to the rest; else the body alone, cut.
 */
export function boundedRejection(body: string, request: unknown, maxBytes = FORENSIC_BYTES): { body: string; request: unknown } {
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  const requestBytes = request === undefined ? 0 : jsonbBytes(request);
  if (bodyBytes + requestBytes <= maxBytes) return { body, request };
  if (requestBytes <= maxBytes / 2) return { body: truncateUtf8(body, maxBytes - requestBytes), request };
  return { body: truncateUtf8(body, maxBytes), request: undefined };
}
