import type { KeyObject } from 'node:crypto';
import { signedEnvelope, type EnvelopeStyle } from './starpay-envelope.js';

/** How `trxAmount` is spelled in the request text; the value is always integer centavos. */
export const AMOUNT_SPELLINGS = ['number', 'string', 'decimal-string', 'decimal-number'] as const;
export type AmountSpelling = (typeof AMOUNT_SPELLINGS)[number];

export interface Spelling {
  amount: AmountSpelling;
  /** Escape `/` as `\/` and non-ASCII as `\uXXXX`, as Java and PHP serialisers do. */
  escapes: boolean;
  envelope: EnvelopeStyle;
}

export const PLAIN_SPELLING: Spelling = { amount: 'number', escapes: false, envelope: 'object' };

/** Request fields in the order they are sent; `trxAmount` is integer centavos. */
export type RequestFields = Record<string, string | number>;

/**
 * The compact JSON text of a request, written by hand so that number spelling and escapes can
 * differ from what JSON.stringify would produce: the receiver must verify the bytes as sent.
 */
export function requestText(fields: RequestFields, spelling: Spelling = PLAIN_SPELLING): string {
  const members = Object.entries(fields).map(([name, value]) => {
    const text = name === 'trxAmount' && typeof value === 'number' ? amountText(value, spelling.amount) : JSON.stringify(value);
    return `${JSON.stringify(name)}:${text}`;
  });
  const text = `{${members.join(',')}}`;
  return spelling.escapes ? escapeJson(text) : text;
}

function amountText(centavos: number, spelling: AmountSpelling): string {
  switch (spelling) {
    case 'number':
      return String(centavos);
    case 'string':
      return `"${centavos}"`;
    case 'decimal-string':
      return `"${centavos}.00"`;
    case 'decimal-number':
      return `${centavos}.00`;
  }
}

/** `/` and non-ASCII only ever occur inside strings of compact JSON, so this keeps it valid. */
function escapeJson(text: string): string {
  return text.replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Request text → signed body, in the given spelling. */
export function signedBody(fields: RequestFields, privateKey: KeyObject, spelling: Spelling = PLAIN_SPELLING): string {
  return signedEnvelope(requestText(fields, spelling), privateKey, spelling.envelope);
}
