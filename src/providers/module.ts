import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ProviderEnv } from '../config/env-parts.js';
import type { Provider } from '../domain/provider.js';

/** Every provider API call gives up after this long: a stuck provider must not hold a query slot. */
export const QUERY_TIMEOUT_MS = 10_000;

/** What building a provider may use besides its own settings. */
export interface ProviderContext {
  logger: Logger;
  /** DATA_DIR: where a development stand-in (Starpay's generated key pair) is kept. */
  dataDir: string;
  /** A provider without its keys may stand in development ones: outside production (server.ts); tests built in-process pass false. */
  developmentStandIns: boolean;
}

/**
 * A provider as its folder offers it to the service (src/providers/<name>/module.ts): its name,
 * its order kinds (unique across providers), its part of the configuration, and how it is built
 * from what that part read. Listing it in src/providers/index.ts is all the service needs.
 */
export interface ProviderModule<Shape extends z.ZodRawShape = z.ZodRawShape, Settings = unknown> {
  readonly name: string;
  readonly kinds: readonly string[];
  readonly env: ProviderEnv<Shape, Settings>;
  /** Built once at start-up; may read key files. A bad key stops start-up with its variable's name. */
  create(settings: Settings, context: ProviderContext): Promise<Provider>;
}
