import type { Provider } from '../domain/provider.js';
import type { ProviderContext, ProviderModule } from './module.js';
import { STARPAGO } from './starpago/module.js';
import { STARPAY } from './starpay/module.js';

export { QUERY_TIMEOUT_MS, type ProviderContext, type ProviderModule } from './module.js';

/**
 * Every provider the service knows. Adding a provider is a folder under src/providers/ with its
 * module.ts, and a line here: its variables join the configuration, and its kinds get their
 * notify routes, ops filters and broker subjects from this list.
 */
export const PROVIDER_MODULES = [STARPAY, STARPAGO] as const satisfies readonly ProviderModule[];

export const PROVIDER_NAMES: readonly string[] = PROVIDER_MODULES.map((module) => module.name);

/** What each provider's configuration fragment read, by provider name (Config['providers']). */
export type ProviderSettings = {
  readonly [M in (typeof PROVIDER_MODULES)[number] as M['name']]: ReturnType<M['env']['read']>;
};

/**
 * Every provider, configured or not (an unconfigured one answers 401), built from the settings its
 * fragment read into `config.providers`.
 */
export async function createProviders(
  config: { providers: Readonly<Record<string, unknown>> },
  context: ProviderContext,
  modules: readonly ProviderModule[] = PROVIDER_MODULES,
): Promise<Provider[]> {
  // One after another: the first bad key is the one start-up names, every time.
  const providers: Provider[] = [];
  for (const module of modules) providers.push(await module.create(config.providers[module.name], context));
  return providers;
}

/** The provider that owns an order kind (kinds are unique across providers). */
export function providerOfKind(providers: readonly Provider[], kind: string): Provider | undefined {
  return providers.find((provider) => provider.kinds.includes(kind));
}
