import { httpUrl, isHttpsOrLoopback, optionalText, type ProviderEnv } from '../../config/env-parts.js';

const shape = {
  STARPAY_PUBLIC_KEYS: optionalText.describe('Starpay platform public keys, PEM or base64 DER, comma or blank-line separated'),
  STARPAY_PUBLIC_KEYS_FILE: optionalText.describe('file holding STARPAY_PUBLIC_KEYS'),
  STARPAY_MCH_ID: optionalText.describe('refuse notifications for another merchant id'),
  STARPAY_API_URL: optionalText.pipe(httpUrl.optional()).describe('Starpay API base URL; unset: Starpay orders are never queried'),
  STARPAY_MERCHANT_PRIVATE_KEY: optionalText.describe("the merchant's RSA private key (PEM PKCS#8 or PKCS#1) signing Starpay queries"),
  STARPAY_MERCHANT_PRIVATE_KEY_FILE: optionalText.describe('file holding STARPAY_MERCHANT_PRIVATE_KEY'),
};

export interface StarpaySettings {
  publicKeys: string | undefined;
  publicKeysFile: string | undefined;
  mchId: string | undefined;
  api: { url: string; merchantPrivateKey: string | undefined; merchantPrivateKeyFile: string | undefined } | undefined;
}

/** Starpay's variables: its platform keys (notifications) and its query API with the merchant key. */
export const STARPAY_ENV: ProviderEnv<typeof shape, StarpaySettings> = {
  shape,
  configuredBy: 'STARPAY_PUBLIC_KEYS',
  check(env, problem, production) {
    // A query API without its credentials could never be asked.
    if (env.STARPAY_API_URL !== undefined) {
      if (env.STARPAY_MERCHANT_PRIVATE_KEY === undefined && env.STARPAY_MERCHANT_PRIVATE_KEY_FILE === undefined) {
        problem('STARPAY_MERCHANT_PRIVATE_KEY', 'is required with STARPAY_API_URL (or STARPAY_MERCHANT_PRIVATE_KEY_FILE)');
      }
      if (env.STARPAY_MCH_ID === undefined) problem('STARPAY_MCH_ID', 'is required with STARPAY_API_URL');
    }
    // Answers move money's state: in production they come over TLS, unless from this machine.
    if (production && env.STARPAY_API_URL !== undefined && !isHttpsOrLoopback(env.STARPAY_API_URL)) {
      problem('STARPAY_API_URL', 'must be an https:// URL in production (http:// only for a loopback host)');
    }
  },
  configured: (env) => env.STARPAY_PUBLIC_KEYS !== undefined || env.STARPAY_PUBLIC_KEYS_FILE !== undefined,
  read: (env) => ({
    publicKeys: env.STARPAY_PUBLIC_KEYS,
    publicKeysFile: env.STARPAY_PUBLIC_KEYS_FILE,
    mchId: env.STARPAY_MCH_ID,
    api:
      env.STARPAY_API_URL === undefined
        ? undefined
        : Object.freeze({
            url: env.STARPAY_API_URL,
            merchantPrivateKey: env.STARPAY_MERCHANT_PRIVATE_KEY,
            merchantPrivateKeyFile: env.STARPAY_MERCHANT_PRIVATE_KEY_FILE,
          }),
  }),
};
