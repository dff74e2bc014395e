import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * How a field without a value (null, undefined, `""`, an empty nested object) enters the string to
 * sign. StarPago does not document it. Payment APIs on the same document template leave empty
 * values out of the signature, so that rule comes first; including them as `k=` is the fallback.
 * The order is fixed: a body that both rules would verify is credited to the first.
 */
export const EMPTY_VALUE_RULES = ['skip-empty', 'include-empty'] as const;
export type EmptyValueRule = (typeof EMPTY_VALUE_RULES)[number];

export type SignCheck =
  /** `sign` is the verified digest (lowercase hex), the SHA-256 of the string to sign. */
  | { ok: true; rule: EmptyValueRule; sign: string }
  | {
      ok: false;
      reason: 'SIGN_MISSING' | 'SIGN_MALFORMED' | 'SIGN_MISMATCH';
      /** The rules whose strings were compared (a rule that yields the same string is not repeated). */
      rulesTried: EmptyValueRule[];
      /** Names (never values) of the fields the rules disagree on. */
      emptyFields: string[];
    };

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * The string StarPago hashes: every field but `sign`, keys sorted by code point, `k=v` joined by
 * `&`, a nested object rendered the same way without quoting, then `&key=<secret>`. It ends with
 * the secret, so it is never stored or logged.
 */
export function stringToSign(params: Record<string, unknown>, secret: string, rule: EmptyValueRule = 'skip-empty'): string {
  const fields = { ...params };
  delete fields.sign;
  const body = renderObject(fields, rule);
  return `${body}${body === '' ? '' : '&'}key=${secret}`;
}

/** Lowercase hex SHA-256 of the string to sign. */
export function signParams(params: Record<string, unknown>, secret: string, rule: EmptyValueRule = 'skip-empty'): string {
  return createHash('sha256')
    .update(stringToSign(params, secret, rule), 'utf8')
    .digest('hex');
}

/** Checks `params.sign` against each rule in order, in constant time; reports the rule that matched. */
export function verifySign(params: Record<string, unknown>, secret: string): SignCheck {
  const emptyFields = emptyFieldNames(params);
  const given = params.sign;
  if (given === undefined || given === null || given === '') return { ok: false, reason: 'SIGN_MISSING', rulesTried: [], emptyFields };
  if (typeof given !== 'string' || !HEX_SHA256.test(given.toLowerCase())) {
    return { ok: false, reason: 'SIGN_MALFORMED', rulesTried: [], emptyFields };
  }
  const givenBytes = Buffer.from(given.toLowerCase(), 'utf8');

  const rulesTried: EmptyValueRule[] = [];
  const digestsTried = new Set<string>();
  for (const rule of EMPTY_VALUE_RULES) {
    const digest = signParams(params, secret, rule);
    if (digestsTried.has(digest)) continue;
    digestsTried.add(digest);
    rulesTried.push(rule);
    // Both are 64 ASCII hex characters, so the buffers have equal length.
    if (timingSafeEqual(Buffer.from(digest, 'utf8'), givenBytes)) return { ok: true, rule, sign: digest };
  }
  return { ok: false, reason: 'SIGN_MISMATCH', rulesTried, emptyFields };
}

/**
 * Each value is rendered exactly once: whether it is empty is read off its rendering (an object
 * whose fields are all empty renders as ""), so the work is linear in the body however it nests.
 */
function renderObject(object: Record<string, unknown>, rule: EmptyValueRule): string {
  const parts: string[] = [];
  for (const key of sortByCodePoint(Object.keys(object))) {
    const rendered = renderValue(object[key], rule);
    if (rule === 'skip-empty' && rendered === '') continue;
    parts.push(`${key}=${rendered}`);
  }
  return parts.join('&');
}

/**
 * Numbers as JavaScript (and JSON) print them: `100.00` was parsed to 100 and prints `100`, which
 * is what StarPago signs. Booleans print `true`/`false`. Arrays are undocumented: their JSON text.
 */
function renderValue(value: unknown, rule: EmptyValueRule): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return JSON.stringify(value);
  if (typeof value === 'object') return renderObject(value as Record<string, unknown>, rule);
  // Functions and symbols never come out of JSON or a form.
  return '';
}

/** UTF-8 byte order is code point order (UTF-16 `sort()` is not, beyond the BMP); each key is encoded once. */
function sortByCodePoint(keys: string[]): string[] {
  return keys
    .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((entry) => entry.key);
}

/**
 * The fields as the string to sign renders them, without the secret: `k=v` joined by `&`, every
 * field present (empty ones as `k=`). For checking what the rendering could be confused with.
 */
export function renderedFields(params: Record<string, unknown>): string {
  const fields = { ...params };
  delete fields.sign;
  return renderObject(fields, 'include-empty');
}

/** Top-level fields (nested ones as `extra.mobile`) that the empty-value rules treat differently. */
function emptyFieldNames(params: Record<string, unknown>, prefix = ''): string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (prefix === '' && key === 'sign') continue;
    if (value === null || value === undefined || value === '') names.push(prefix + key);
    else if (typeof value === 'object' && !Array.isArray(value)) {
      if (Object.keys(value).length === 0) names.push(prefix + key);
      else names.push(...emptyFieldNames(value as Record<string, unknown>, `${prefix}${key}.`));
    }
  }
  return names;
}
