import { createPublicKey, type KeyObject } from 'node:crypto';

export const MIN_RSA_BITS = 2048;

export class PublicKeyError extends Error {}

/**
 * Parses Starpay platform public keys: PEM blocks or bare base64 of the DER SubjectPublicKeyInfo,
 * separated by commas or blank lines. Several keys allow rotation. Keys are parsed once, here.
 */
export function parsePublicKeys(text: string): KeyObject[] {
  const pemBlocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
  const rest = text.replace(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g, ',');
  const bareKeys = rest
    .split(/,|\n\s*\n/)
    .map((chunk) => chunk.replace(/\s+/g, ''))
    .filter((chunk) => chunk !== '');

  const keys = [
    ...pemBlocks.map((pem, index) => toKey(() => createPublicKey(pem), `PEM key #${index + 1}`)),
    ...bareKeys.map((base64, index) =>
      toKey(() => createPublicKey({ key: decodeBase64Strict(base64), format: 'der', type: 'spki' }), `base64 key #${index + 1}`),
    ),
  ];
  if (keys.length === 0) throw new PublicKeyError('no Starpay public key found');
  return keys;
}

function toKey(create: () => KeyObject, label: string): KeyObject {
  let key: KeyObject;
  try {
    key = create();
  } catch (error) {
    throw new PublicKeyError(`${label} is not a valid public key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PublicKeyError(`${label} is a ${key.asymmetricKeyType ?? 'non-RSA'} key; Starpay signs with RSA`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new PublicKeyError(`${label} has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  }
  return key;
}

function decodeBase64Strict(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error('not base64');
  return Buffer.from(text, 'base64');
}
