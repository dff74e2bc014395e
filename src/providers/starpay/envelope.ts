import { decodeUtf8, JsonBodyError, parseJsonText } from '../json-body.js';

/** Why a body could not be read as a Starpay envelope; each maps to a 400. */
export class EnvelopeError extends Error {}

export interface Envelope {
  /** The parsed `request` object. */
  request: Record<string, unknown>;
  /** The exact text Starpay signed: the raw `request` member, or the decoded content of a string `request`. */
  signedText: string;
  /** The `signature` member, if it is a string. */
  signature: string | undefined;
}

/** Decodes the raw body as UTF-8 (a BOM is dropped); invalid UTF-8 is refused. */
export function decodeBody(body: Buffer): string {
  return asEnvelopeError(() => decodeUtf8(body));
}

/** Parses JSON nested at most MAX_JSON_DEPTH deep, refusing `__proto__` and `constructor.prototype` keys. */
export function parseJson(text: string): unknown {
  return asEnvelopeError(() => parseJsonText(text));
}

function asEnvelopeError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof JsonBodyError)) throw error;
    throw new EnvelopeError(error.message, { cause: error });
  }
}

/**
 * The source text of one top-level member of the JSON object `text` (already known to be valid),
 * or undefined when it has none: how a number is read from the digits that were signed.
 */
export function memberText(text: string, member: string): string | undefined {
  const span = topLevelMembers(text, 0, member).get(member);
  return span === undefined ? undefined : text.slice(span.start, span.end);
}

/**
 * Reads `{"request": …, "signature": …}`, a one-element array holding it, or the same with `request`
 * as a JSON string. The signed text is sliced from the source, never re-serialised.
 */
export function readEnvelope(text: string, parsed: unknown): Envelope {
  let envelope = parsed;
  let envelopeStart = 0;
  if (Array.isArray(parsed)) {
    if (parsed.length !== 1) throw new EnvelopeError('an array body must hold exactly one notification');
    envelope = parsed[0];
    envelopeStart = skipWhitespace(text, text.indexOf('[') + 1);
  }
  const { value, signedText, signature } = readSignedMember(text, envelope, 'request', envelopeStart);
  return { request: value, signedText, signature };
}

/** A signed member of a Starpay envelope: `{"<member>": {…}, "signature": "…"}`. */
export interface SignedMember {
  /** The parsed member object. */
  value: Record<string, unknown>;
  /** The exact text that was signed: the member's source span, or the decoded content of a string member. */
  signedText: string;
  /** The `signature` member, if it is a string. */
  signature: string | undefined;
}

/**
 * Reads one member of the envelope object that starts at `from` in `text` (the source of
 * `envelope`, already known to be valid JSON) by its source span, never by re-serialising:
 * `request` in notifications, `response` in query answers. A member given as a JSON string (seen
 * on a related deployment of the same platform) is signed as its content.
 */
export function readSignedMember(text: string, envelope: unknown, member: string, from = 0): SignedMember {
  if (!isPlainObject(envelope)) throw new EnvelopeError(`body must be an object with ${member} and signature`);
  const span = topLevelMembers(text, from, member).get(member);
  if (span === undefined) throw new EnvelopeError(`${member} is missing`);

  const raw = envelope[member];
  let value: unknown;
  let signedText: string;
  if (typeof raw === 'string') {
    signedText = raw;
    value = parseJson(raw);
  } else {
    signedText = text.slice(span.start, span.end);
    value = raw;
  }
  if (!isPlainObject(value)) throw new EnvelopeError(`${member} must be a JSON object`);
  return { value, signedText, signature: typeof envelope.signature === 'string' ? envelope.signature : undefined };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Span {
  start: number;
  end: number;
}

/**
 * Source spans of the members of the object starting at `from` (the text is already known to be
 * valid JSON). A repeated member is refused: its meaning would depend on the parser.
 */
function topLevelMembers(text: string, from: number, member: string): Map<string, Span> {
  const members = new Map<string, Span>();
  let i = skipWhitespace(text, from);
  if (text[i] !== '{') throw new EnvelopeError(`body must be an object with ${member} and signature`);
  i = skipWhitespace(text, i + 1);
  while (text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd);
    i = skipWhitespace(text, i + 1); // the ':'
    const start = i;
    const end = skipValue(text, i);
    if (members.has(key)) throw new EnvelopeError(`member ${key} appears twice`);
    members.set(key, { start, end });
    i = skipWhitespace(text, end);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return members;
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

/** `i` is at an opening quote; returns the index after the closing quote. */
function skipString(text: string, i: number): number {
  i++;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Returns the index just after the JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first !== '{' && first !== '[') {
    while (i < text.length && !',}] \t\n\r'.includes(text[i] as string)) i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = skipString(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return i;
}
