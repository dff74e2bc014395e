import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../../config/config.js';
import { ensureDevKeyPair } from './dev-keys.js';
import { parsePublicKeys } from './public-keys.js';

export interface LoadedKeys {
  keys: KeyObject[];
  /** Set when a development key pair stands in for Starpay's keys. */
  devPrivateKeyFile?: string;
}

/**
 * STARPAY_PUBLIC_KEYS and STARPAY_PUBLIC_KEYS_FILE together. When neither is set: in production no
 * key (Starpay is not configured, its notifications get 401); elsewhere a development pair.
 */
export async function loadStarpayKeys(config: Config): Promise<LoadedKeys> {
  const keys: KeyObject[] = [];
  if (config.starpayPublicKeys !== undefined) keys.push(...parseNamed('STARPAY_PUBLIC_KEYS', config.starpayPublicKeys));
  if (config.starpayPublicKeysFile !== undefined) {
    const file = config.starpayPublicKeysFile;
    const text = await readFile(file, 'utf8').catch((error: Error) => {
      throw new Error(`STARPAY_PUBLIC_KEYS_FILE: cannot read ${file}: ${error.message}`);
    });
    keys.push(...parseNamed('STARPAY_PUBLIC_KEYS_FILE', text));
  }
  if (keys.length > 0) return { keys };
  if (config.production) return { keys: [] };
  const dev = await ensureDevKeyPair(config.dataDir);
  return { keys: parsePublicKeys(dev.publicKeyPem), devPrivateKeyFile: dev.privateKeyFile };
}

/** Start-up errors name the variable that holds the bad key. */
function parseNamed(variable: string, text: string): KeyObject[] {
  try {
    return parsePublicKeys(text);
  } catch (error) {
    throw new Error(`${variable}: ${(error as Error).message}`, { cause: error });
  }
}
