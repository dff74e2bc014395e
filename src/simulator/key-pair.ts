import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface RsaKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `-----BEGIN PUBLIC KEY-----`: the SubjectPublicKeyInfo as PEM. */
  publicKeyPem: string;
  /** Bare base64 of the DER SubjectPublicKeyInfo, the other form STARPAY_PUBLIC_KEYS accepts. */
  publicKeyBase64: string;
}

/**
 * A fresh RSA key pair standing in for Starpay's platform key. 2048 bits by default: the receiver
 * refuses smaller keys, so a smaller size is only for showing that refusal.
 */
export function generateRsaKeyPair(bits = 2048): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
