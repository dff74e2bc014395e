import type { Provider } from '../../domain/provider.js';
import { QUERY_TIMEOUT_MS, type ProviderContext } from '../module.js';
import type { StarpaySettings } from './env.js';
import { createStarpayProvider } from './index.js';
import { loadStarpayKeys } from './load-keys.js';
import { loadMerchantPrivateKey } from './merchant-key.js';
import { createStarpayQueryClient } from './query-client.js';

/**
 * Starpay from its settings: the platform keys (or a development pair, logged), and the query
 * client when STARPAY_API_URL is set with the merchant key and id the configuration required.
 */
export async function buildStarpay(settings: StarpaySettings, context: ProviderContext): Promise<Provider> {
  const log = context.logger.child({ provider: 'starpay' });
  const platform = await loadStarpayKeys(settings, context);
  if (platform.devPrivateKeyFile !== undefined) {
    log.warn({ privateKeyFile: platform.devPrivateKeyFile }, 'no Starpay public key configured: using a generated development key pair');
  }
  const merchantKey = await loadMerchantPrivateKey({ key: settings.api?.merchantPrivateKey, keyFile: settings.api?.merchantPrivateKeyFile });
  const api = settings.api;
  const client =
    api === undefined || merchantKey === undefined || settings.mchId === undefined
      ? undefined
      : createStarpayQueryClient({
          apiUrl: api.url,
          mchId: settings.mchId,
          merchantPrivateKey: merchantKey,
          platformKeys: platform.keys,
          timeoutMs: QUERY_TIMEOUT_MS,
          log,
        });
  return createStarpayProvider({
    keys: platform.keys,
    mchId: settings.mchId,
    query: client === undefined ? undefined : (kind, orderRef) => client.query(kind, orderRef),
  });
}
