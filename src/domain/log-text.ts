/** Log fields taken from a request (names, values, reasons) are cut to this many characters. */
export const LOG_FIELD_MAX = 200;

/** A request-derived text for a log line: at most LOG_FIELD_MAX characters, marked when cut. */
export function clipForLog(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.length <= LOG_FIELD_MAX ? value : `${value.slice(0, LOG_FIELD_MAX - 1)}…`;
}

/** Names joined for one log field, cut like any other. */
export function namesForLog(names: readonly string[]): string {
  return clipForLog(names.join(', ')) ?? '';
}
