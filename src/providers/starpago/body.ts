import secureJson from 'secure-json-parse';

/** Why a body could not be read as StarPago fields; maps to INVALID_ENVELOPE. */
export class BodyError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 (a BOM is dropped); invalid UTF-8 is refused. */
export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new BodyError('body is not valid UTF-8');
  }
}

/** A JSON object, refusing `__proto__` and `constructor.prototype` keys. */
export function readJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new BodyError('body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BodyError('body is not a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * A flat `application/x-www-form-urlencoded` body; every value is a string. A repeated field is
 * refused: which copy was signed would be a guess.
 */
export function readFormObject(text: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (key === '__proto__' || key === 'constructor') throw new BodyError(`form field ${key} is not allowed`);
    if (Object.hasOwn(fields, key)) throw new BodyError(`form field ${key} is repeated`);
    fields[key] = value;
  }
  if (Object.keys(fields).length === 0) throw new BodyError('form body has no fields');
  return fields;
}

/** Form when the content type says so; JSON otherwise (the documented format). */
export function readFields(body: Buffer, contentType: string | undefined): { text: string; fields: Record<string, unknown> } {
  const text = decodeUtf8(body);
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  const fields = mediaType === 'application/x-www-form-urlencoded' ? readFormObject(text) : readJsonObject(text);
  return { text, fields };
}
