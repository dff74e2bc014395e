import { clipForLog } from '../../domain/log-text.js';
import { decodeUtf8 as decodeJsonUtf8, JsonBodyError, objectDepthBelow, parseJsonText } from '../json-body.js';

/** Why a body could not be read as StarPago fields; maps to INVALID_ENVELOPE. */
export class BodyError extends Error {}

/** StarPago's own nested objects (`extra`) are one or two levels deep; deeper is refused unread. */
export const MAX_OBJECT_DEPTH = 3;

/** Decodes UTF-8 (a BOM is dropped); invalid UTF-8 is refused. */
export function decodeUtf8(body: Buffer): string {
  try {
    return decodeJsonUtf8(body);
  } catch (error) {
    throw new BodyError((error as Error).message, { cause: error });
  }
}

/** A JSON object nested at most MAX_OBJECT_DEPTH objects deep, refusing prototype keys. */
export function readJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonText(text);
  } catch (error) {
    if (!(error instanceof JsonBodyError)) throw error;
    throw new BodyError(error.message, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BodyError('body is not a JSON object');
  if (objectDepthBelow(parsed) > MAX_OBJECT_DEPTH) throw new BodyError(`objects nested deeper than ${MAX_OBJECT_DEPTH} levels`);
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
    if (Object.hasOwn(fields, key)) throw new BodyError(`form field ${clipForLog(key) ?? ''} is repeated`);
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
