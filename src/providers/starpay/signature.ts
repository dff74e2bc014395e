import { verify, type KeyObject } from 'node:crypto';

export type SignatureCheck = { ok: true } | { ok: false; reason: 'SIGNATURE_MISSING' | 'SIGNATURE_UNDECODABLE' | 'SIGNATURE_MISMATCH' };

/**
 * SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of the signed text exactly as received, with
 * any of the keys (rotation). Never over a re-serialisation: what was not signed is not trusted.
 */
export function checkSignature(signedText: string, signature: string | undefined, keys: readonly KeyObject[]): SignatureCheck {
  if (signature === undefined || signature.trim() === '') return { ok: false, reason: 'SIGNATURE_MISSING' };
  const signatureBytes = decodeSignature(signature);
  if (signatureBytes === undefined) return { ok: false, reason: 'SIGNATURE_UNDECODABLE' };

  const signed = Buffer.from(signedText, 'utf8');
  if (keys.some((key) => verify('sha256', signed, key, signatureBytes))) return { ok: true };
  return { ok: false, reason: 'SIGNATURE_MISMATCH' };
}

/** Standard base64 (URL-safe tolerated), whitespace ignored; anything else is undecodable. */
function decodeSignature(signature: string): Buffer | undefined {
  const compact = signature.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  const bytes = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length > 0 ? bytes : undefined;
}
