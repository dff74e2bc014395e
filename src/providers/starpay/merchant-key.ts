import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { MIN_RSA_BITS } from './public-keys.js';

export class MerchantKeyError extends Error {}

export interface MerchantKeySource {
  /** STARPAY_MERCHANT_PRIVATE_KEY */
  key?: string | undefined;
  /** STARPAY_MERCHANT_PRIVATE_KEY_FILE */
  keyFile?: string | undefined;
}

/**
 * The merchant's RSA private key that signs queries, from STARPAY_MERCHANT_PRIVATE_KEY or
 * STARPAY_MERCHANT_PRIVATE_KEY_FILE; undefined when neither is set. Errors name the variable and
 * never quote the key.
 */
export async function loadMerchantPrivateKey(source: MerchantKeySource): Promise<KeyObject | undefined> {
  const { key, keyFile } = source;
  if (key !== undefined && key.trim() !== '' && keyFile !== undefined && keyFile !== '') {
    throw new MerchantKeyError('STARPAY_MERCHANT_PRIVATE_KEY and STARPAY_MERCHANT_PRIVATE_KEY_FILE are both set; set one');
  }
  if (key !== undefined && key.trim() !== '') return parseNamed('STARPAY_MERCHANT_PRIVATE_KEY', key);
  if (keyFile === undefined || keyFile === '') return undefined;
  const text = await readFile(keyFile, 'utf8').catch((error: Error) => {
    throw new MerchantKeyError(`STARPAY_MERCHANT_PRIVATE_KEY_FILE: cannot read ${keyFile}: ${error.message}`);
  });
  return parseNamed('STARPAY_MERCHANT_PRIVATE_KEY_FILE', text);
}

/**
 * Parses a merchant private key: PEM PKCS#8 (`BEGIN PRIVATE KEY`), PEM PKCS#1 (`BEGIN RSA PRIVATE
 * KEY`, as some integrators hold it), or bare base64 of the PKCS#8 DER (what Starpay's Java demo
 * loads). Literal `\n` sequences are read as line breaks, since a PEM pasted into one environment
 * line often arrives that way. RSA of at least 2048 bits only.
 */
export function parseMerchantPrivateKey(text: string): KeyObject {
  const normalised = text.replace(/\\n/g, '\n').trim();
  if (normalised === '') throw new MerchantKeyError('is empty');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(normalised)) {
    throw new MerchantKeyError('is encrypted; give the key without a passphrase');
  }
  const key = normalised.startsWith('-----BEGIN') ? fromPem(normalised) : fromBase64Der(normalised);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new MerchantKeyError(`is a ${key.asymmetricKeyType ?? 'non-RSA'} key; Starpay expects RSA (SHA256withRSA)`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new MerchantKeyError(`has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  return key;
}

function fromPem(pem: string): KeyObject {
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) {
    throw new MerchantKeyError('is not a private key (expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)');
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new MerchantKeyError(`is not a valid PEM private key: ${(error as Error).message}`);
  }
}

function fromBase64Der(text: string): KeyObject {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new MerchantKeyError('is neither PEM nor base64');
  const der = Buffer.from(compact, 'base64');
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    // A bare PKCS#1 DER is rarer but unambiguous; accept it rather than make people convert.
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
    } catch (error) {
      throw new MerchantKeyError(`is not a valid base64 PKCS#8 DER private key: ${(error as Error).message}`);
    }
  }
}

function parseNamed(variable: string, text: string): KeyObject {
  try {
    return parseMerchantPrivateKey(text);
  } catch (error) {
    throw new MerchantKeyError(`${variable}: ${(error as Error).message}`);
  }
}
