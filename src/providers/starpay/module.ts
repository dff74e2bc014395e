import type { ProviderModule } from '../module.js';
import { STARPAY_ENV } from './env.js';
import { NOTIFICATION_KINDS } from './notification.js';

/** Starpay: RSA-signed disbursement, repayment and static-QR notifications, and its query API. */
export const STARPAY = {
  name: 'starpay',
  kinds: NOTIFICATION_KINDS,
  env: STARPAY_ENV,
  // Its code is loaded when it is built, not with the configuration.
  create: async (settings, context) => (await import('./build.js')).buildStarpay(settings, context),
} as const satisfies ProviderModule<typeof STARPAY_ENV.shape, ReturnType<typeof STARPAY_ENV.read>>;
