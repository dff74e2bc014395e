import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import { ensureDevKeyPair } from './dev-keys.js';
import { parsePublicKeys } from './public-keys.js';

export interface LoadedKeys {
  keys: KeyObject[];
  /** Set when a development key pair stands in for Starpay's keys. */
  devPrivateKeyFile?: string;
}

/** STARPAY_PUBLIC_KEYS and STARPAY_PUBLIC_KEYS_FILE together; outside production, a development pair when neither is set. */
export async function loadStarpayKeys(config: Config): Promise<LoadedKeys> {
  const texts = [config.starpayPublicKeys ?? ''];
  if (config.starpayPublicKeysFile !== undefined) texts.push(await readFile(config.starpayPublicKeysFile, 'utf8'));
  const text = texts.filter((t) => t.trim() !== '').join('\n\n');
  if (text !== '') return { keys: parsePublicKeys(text) };
  if (config.production) throw new Error('STARPAY_PUBLIC_KEYS is required in production');
  const dev = await ensureDevKeyPair(config.dataDir);
  return { keys: parsePublicKeys(dev.publicKeyPem), devPrivateKeyFile: dev.privateKeyFile };
}
