import { ensureKeyPairFiles, type KeyPairFiles } from '../providers/starpay/dev-keys.js';

export const DEV_MERCHANT_PRIVATE_KEY_FILE = 'starpay-dev-merchant-private.pem';
export const DEV_MERCHANT_PUBLIC_KEY_FILE = 'starpay-dev-merchant-public.pem';

export type DevMerchantKeyPair = KeyPairFiles;

/**
 * The merchant key pair of the sandbox, made once under DATA_DIR: the service signs its queries
 * with the private half (STARPAY_MERCHANT_PRIVATE_KEY_FILE), the fake Starpay checks them with the
 * public half, as Starpay does with the key the merchant registers.
 */
export function ensureDevMerchantKeyPair(dataDir: string): Promise<DevMerchantKeyPair> {
  return ensureKeyPairFiles(dataDir, DEV_MERCHANT_PRIVATE_KEY_FILE, DEV_MERCHANT_PUBLIC_KEY_FILE);
}
