import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Provider } from '../domain/provider.js';
import { createStarpagoProvider, STARPAGO_KINDS } from './starpago/index.js';
import { createStarpayProvider } from './starpay/index.js';
import { NOTIFICATION_KINDS } from './starpay/notification.js';
import { createStarpayQueryClient } from './starpay/query-client.js';

/** Every provider API call gives up after this long: a stuck provider must not hold a query slot. */
export const QUERY_TIMEOUT_MS = 10_000;

/** What the providers are built from: the configuration and the keys read at start-up. */
export interface ProviderSetup {
  config: Config;
  starpayKeys: readonly KeyObject[];
  /** Signs Starpay queries; present when STARPAY_API_URL is configured. */
  starpayMerchantKey?: KeyObject | undefined;
  logger: Logger;
}

/**
 * Every provider the service knows: its name, its order kinds (unique across providers) and how it
 * is built from the configuration. Adding a provider is a folder under src/providers/ and a line
 * here; its kinds get their notify routes, ops filters and broker subjects from this list.
 */
const REGISTRY = [
  {
    name: 'starpay',
    kinds: NOTIFICATION_KINDS,
    create: (setup: ProviderSetup) => createStarpayProvider({ keys: setup.starpayKeys, mchId: setup.config.starpayMchId, query: starpayQuery(setup) }),
  },
  {
    name: 'starpago',
    kinds: STARPAGO_KINDS,
    create: ({ config, logger }: ProviderSetup) =>
      createStarpagoProvider({ ...config.starpago, timeoutMs: QUERY_TIMEOUT_MS, logger: logger.child({ provider: 'starpago' }) }),
  },
] as const;

export const PROVIDER_NAMES: readonly string[] = REGISTRY.map((entry) => entry.name);

/** Every provider, configured or not (an unconfigured one answers 401). */
export function createProviders(setup: ProviderSetup): Provider[] {
  return REGISTRY.map((entry) => entry.create(setup));
}

function starpayQuery(setup: ProviderSetup) {
  const api = setup.config.starpayApi;
  if (api === undefined || setup.starpayMerchantKey === undefined || setup.config.starpayMchId === undefined) return undefined;
  const client = createStarpayQueryClient({
    apiUrl: api.url,
    mchId: setup.config.starpayMchId,
    merchantPrivateKey: setup.starpayMerchantKey,
    platformKeys: setup.starpayKeys,
    timeoutMs: QUERY_TIMEOUT_MS,
    log: setup.logger.child({ provider: 'starpay' }),
  });
  return (kind: 'disbursement' | 'repayment', orderRef: string) => client.query(kind, orderRef);
}

/** The provider that owns an order kind (kinds are unique across providers). */
export function providerOfKind(providers: readonly Provider[], kind: string): Provider | undefined {
  return providers.find((provider) => provider.kinds.includes(kind));
}
