import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const DEV_PRIVATE_KEY_FILE = 'starpay-dev-private.pem';
export const DEV_PUBLIC_KEY_FILE = 'starpay-dev-public.pem';

/**
 * Outside production, with no Starpay key configured: a development key pair under DATA_DIR, made
 * once, so that a local simulator can sign notifications the service accepts.
 */
export async function ensureDevKeyPair(dataDir: string): Promise<{ publicKeyPem: string; privateKeyFile: string }> {
  const privateKeyFile = path.resolve(dataDir, DEV_PRIVATE_KEY_FILE);
  const publicKeyFile = path.resolve(dataDir, DEV_PUBLIC_KEY_FILE);
  const existing = await readFile(publicKeyFile, 'utf8').catch(() => undefined);
  if (existing !== undefined) return { publicKeyPem: existing, privateKeyFile };

  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await mkdir(path.resolve(dataDir), { recursive: true });
  await writeFile(privateKeyFile, privateKey, { mode: 0o600 });
  await writeFile(publicKeyFile, publicKey);
  return { publicKeyPem: publicKey, privateKeyFile };
}
