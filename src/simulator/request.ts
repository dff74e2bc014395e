import { sign, type KeyObject } from 'node:crypto';

/** How `trxAmount` is spelled in the request text; the value is always integer centavos. */
export const AMOUNT_SPELLINGS = ['number', 'string', 'decimal-string', 'decimal-number'] as const;
export type AmountSpelling = (typeof AMOUNT_SPELLINGS)[number];

/** How the signed request text sits in the body. */
export const ENVELOPE_STYLES = ['object', 'signature-first', 'array', 'string-request'] as const;
export type EnvelopeStyle = (typeof ENVELOPE_STYLES)[number];

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

/** SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of the text, standard base64. */
export function signText(text: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

/** The body Starpay POSTs: the signed text embedded byte for byte (or as a JSON string). */
export function envelopeBody(text: string, signature: string, style: EnvelopeStyle = 'object'): string {
  const sig = JSON.stringify(signature);
  switch (style) {
    case 'object':
      return `{"request":${text},"signature":${sig}}`;
    case 'signature-first':
      return `{"signature":${sig},"request":${text}}`;
    case 'array':
      return `[{"request":${text},"signature":${sig}}]`;
    case 'string-request':
      return `{"request":${JSON.stringify(text)},"signature":${sig}}`;
  }
}

/** Request text → signed body, in the given spelling. */
export function signedBody(fields: RequestFields, privateKey: KeyObject, spelling: Spelling = PLAIN_SPELLING): string {
  const text = requestText(fields, spelling);
  return envelopeBody(text, signText(text, privateKey), spelling.envelope);
}
