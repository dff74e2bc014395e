import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ProviderContext } from '../module.js';
import { ensureDevKeyPair } from './dev-keys.js';
import type { StarpaySettings } from './env.js';
import { parsePublicKeys } from './public-keys.js';

export interface LoadedKeys {
  keys: KeyObject[];
  /** Set when a development key pair stands in for Starpay's keys. */
  devPrivateKeyFile?: string;
}

/**
 * STARPAY_PUBLIC_KEYS and STARPAY_PUBLIC_KEYS_FILE together. When neither is set: no key (Starpay
 * is not configured, its notifications get 401), or a development pair where stand-ins are allowed.
 */
export async function loadStarpayKeys(
  settings: Pick<StarpaySettings, 'publicKeys' | 'publicKeysFile'>,
  context: Pick<ProviderContext, 'dataDir' | 'developmentStandIns'>,
): Promise<LoadedKeys> {
  const keys: KeyObject[] = [];
  if (settings.publicKeys !== undefined) keys.push(...parseNamed('STARPAY_PUBLIC_KEYS', settings.publicKeys));
  if (settings.publicKeysFile !== undefined) {
    const file = settings.publicKeysFile;
    const text = await readFile(file, 'utf8').catch((error: Error) => {
      throw new Error(`STARPAY_PUBLIC_KEYS_FILE: cannot read ${file}: ${error.message}`);
    });
    keys.push(...parseNamed('STARPAY_PUBLIC_KEYS_FILE', text));
  }
  if (keys.length > 0 || !context.developmentStandIns) return { keys };
  const dev = await ensureDevKeyPair(context.dataDir);
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
