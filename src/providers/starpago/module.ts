import { QUERY_TIMEOUT_MS, type ProviderModule } from '../module.js';
import { STARPAGO_ENV } from './env.js';
import { STARPAGO_KINDS } from './kinds.js';

/** StarPago: payins and payouts; v2 callbacks signed, v3 callbacks hints confirmed by its query API. */
export const STARPAGO = {
  name: 'starpago',
  kinds: STARPAGO_KINDS,
  env: STARPAGO_ENV,
  // Its code is loaded when it is built, not with the configuration.
  create: async (settings, { logger }) =>
    (await import('./index.js')).createStarpagoProvider({ ...settings, timeoutMs: QUERY_TIMEOUT_MS, logger: logger.child({ provider: 'starpago' }) }),
} as const satisfies ProviderModule<typeof STARPAGO_ENV.shape, ReturnType<typeof STARPAGO_ENV.read>>;
