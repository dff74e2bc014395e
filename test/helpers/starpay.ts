import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface TestKeyPair {
  privateKey: KeyObject;
  publicKeyPem: string;
  /** Bare base64 of the DER SubjectPublicKeyInfo, the other accepted form. */
  publicKeyBase64: string;
}

export function generateTestKeyPair(bits = 2048): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

/** SHA256withRSA (PKCS#1 v1.5), base64: what Starpay puts in `signature`. */
export function signText(text: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

/** A body exactly as Starpay sends it: the request text is signed and embedded byte for byte. */
export function envelope(requestText: string, privateKey: KeyObject): string {
  return `{"request":${requestText},"signature":"${signText(requestText, privateKey)}"}`;
}

let sequence = 0;

/** A realistic request; unique references unless overridden. */
export function requestFields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return {
    code: '200',
    message: 'success',
    msgId: `${Date.now()}${String(sequence).padStart(4, '0')}`,
    mchId: '101510000001',
    originalMsgId: `2024112511006${String(sequence).padStart(5, '0')}`,
    trxState: 'SUCCESS',
    trxAmount: 10000,
    currency: 'PHP',
    trxDate: '2024-11-25T17:49:51+08:00',
    ...overrides,
  };
}

export function signedBody(fields: Record<string, unknown>, privateKey: KeyObject): string {
  return envelope(JSON.stringify(fields), privateKey);
}
