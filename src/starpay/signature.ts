import { verify, type KeyObject } from 'node:crypto';

export type SignatureCheck =
  | { ok: true; candidate: 'raw' | 'compact' }
  | { ok: false; reason: 'SIGNATURE_MISSING' | 'SIGNATURE_UNDECODABLE' | 'SIGNATURE_MISMATCH' };

/**
 * SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of the signed text, with any of the keys
 * (rotation). The exact received text is tried first; a compact re-serialisation second, for a
 * sender that signed its own serialisation but transmitted pretty-printed JSON.
 */
export function checkSignature(
  signedText: string,
  request: unknown,
  signature: string | undefined,
  keys: readonly KeyObject[],
): SignatureCheck {
  if (signature === undefined || signature.trim() === '') return { ok: false, reason: 'SIGNATURE_MISSING' };
  const signatureBytes = decodeSignature(signature);
  if (signatureBytes === undefined) return { ok: false, reason: 'SIGNATURE_UNDECODABLE' };

  const raw = Buffer.from(signedText, 'utf8');
  if (keys.some((key) => verify('sha256', raw, key, signatureBytes))) return { ok: true, candidate: 'raw' };

  const compact = Buffer.from(JSON.stringify(request), 'utf8');
  if (!compact.equals(raw) && keys.some((key) => verify('sha256', compact, key, signatureBytes))) {
    return { ok: true, candidate: 'compact' };
  }
  return { ok: false, reason: 'SIGNATURE_MISMATCH' };
}

/** Standard base64 (URL-safe tolerated), whitespace ignored; anything else is undecodable. */
function decodeSignature(signature: string): Buffer | undefined {
  const compact = signature.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  const bytes = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length > 0 ? bytes : undefined;
}
