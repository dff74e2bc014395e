import { EnvelopeError, isPlainObject, parseJson } from './envelope.js';

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
 * Reads one member of a top-level envelope object by its source span, never by re-serialising:
 * `response` in Starpay's query answers, as `request` is read in its notifications. A member given
 * as a JSON string (seen on a related deployment of the same platform) is signed as its content.
 * `text` must be the source of `parsed` (already known to be valid JSON).
 */
export function readSignedMember(text: string, parsed: unknown, member: string): SignedMember {
  if (!isPlainObject(parsed)) throw new EnvelopeError(`body must be an object with ${member} and signature`);
  const span = memberSpans(text).get(member);
  if (span === undefined) throw new EnvelopeError(`${member} is missing`);

  const raw = parsed[member];
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
  return { value, signedText, signature: typeof parsed.signature === 'string' ? parsed.signature : undefined };
}

export interface Span {
  start: number;
  end: number;
}

/**
 * Source spans of the members of the top-level object of valid JSON text. A repeated member is
 * refused: which of the two was signed would depend on the parser.
 */
export function memberSpans(text: string): Map<string, Span> {
  const members = new Map<string, Span>();
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') throw new EnvelopeError('body must be a JSON object');
  i = skipWhitespace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
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
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
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
