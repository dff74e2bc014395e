import type { KeyObject } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Provider } from '../domain/provider.js';
import { createStarpayProvider } from './starpay/index.js';

/** What the providers are built from: the configuration and the keys read at start-up. */
export interface ProviderSetup {
  config: Config;
  starpayKeys: readonly KeyObject[];
}

/**
 * Every provider the service knows, configured or not (an unconfigured one answers 401). Adding a
 * provider is a folder under src/providers/ and a line here.
 */
export function createProviders(setup: ProviderSetup): Provider[] {
  return [createStarpayProvider({ keys: setup.starpayKeys, mchId: setup.config.starpayMchId })];
}

/** The provider that owns an order kind (kinds are unique across providers). */
export function providerOfKind(providers: readonly Provider[], kind: string): Provider | undefined {
  return providers.find((provider) => provider.kinds.includes(kind));
}
