import { sign, type KeyObject } from 'node:crypto';

/**
 * Signing the way Starpay signs, for everything that plays Starpay: the simulator, the tests and
 * the bench. The receiver verifies the exact bytes of `request`, so the signed text is embedded
 * byte for byte and never re-serialised.
 */

/** How the signed request text sits in the body. */
export const ENVELOPE_STYLES = ['object', 'signature-first', 'array', 'string-request'] as const;
export type EnvelopeStyle = (typeof ENVELOPE_STYLES)[number];

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

/** Request text → signed body: `{"request":<text>,"signature":"<base64>"}` unless another style is asked. */
export function signedEnvelope(text: string, privateKey: KeyObject, style: EnvelopeStyle = 'object'): string {
  return envelopeBody(text, signText(text, privateKey), style);
}
