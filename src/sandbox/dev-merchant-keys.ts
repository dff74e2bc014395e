import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const DEV_MERCHANT_PRIVATE_KEY_FILE = 'starpay-dev-merchant-private.pem';
export const DEV_MERCHANT_PUBLIC_KEY_FILE = 'starpay-dev-merchant-public.pem';

export interface DevMerchantKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/**
 * The merchant key pair of the sandbox, made once under DATA_DIR: the service signs its queries
 * with the private half (STARPAY_MERCHANT_PRIVATE_KEY_FILE), the fake Starpay checks them with the
 * public half, as Starpay does with the key the merchant registers.
 */
export async function ensureDevMerchantKeyPair(dataDir: string): Promise<DevMerchantKeyPair> {
  const privateKeyFile = path.resolve(dataDir, DEV_MERCHANT_PRIVATE_KEY_FILE);
  const publicKeyFile = path.resolve(dataDir, DEV_MERCHANT_PUBLIC_KEY_FILE);
  const [privateKeyPem, publicKeyPem] = await Promise.all([
    readFile(privateKeyFile, 'utf8').catch(() => undefined),
    readFile(publicKeyFile, 'utf8').catch(() => undefined),
  ]);
  if (privateKeyPem !== undefined && publicKeyPem !== undefined) return { privateKeyFile, publicKeyFile, privateKeyPem, publicKeyPem };

  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await mkdir(path.resolve(dataDir), { recursive: true });
  await writeFile(privateKeyFile, pair.privateKey, { mode: 0o600 });
  await writeFile(publicKeyFile, pair.publicKey);
  return { privateKeyFile, publicKeyFile, privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
}
