import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const DEV_PRIVATE_KEY_FILE = 'starpay-dev-private.pem';
export const DEV_PUBLIC_KEY_FILE = 'starpay-dev-public.pem';

export interface KeyPairFiles {
  privateKeyFile: string;
  publicKeyFile: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/**
 * An RSA key pair kept in two files under `dataDir` (the private one readable by its owner only),
 * made once: read back when both files are there, made anew otherwise.
 */
export async function ensureKeyPairFiles(dataDir: string, privateName: string, publicName: string): Promise<KeyPairFiles> {
  const privateKeyFile = path.resolve(dataDir, privateName);
  const publicKeyFile = path.resolve(dataDir, publicName);
  const [privateKeyPem, publicKeyPem] = await Promise.all([
    readFile(privateKeyFile, 'utf8').catch(() => undefined),
    readFile(publicKeyFile, 'utf8').catch(() => undefined),
  ]);
  if (privateKeyPem !== undefined && publicKeyPem !== undefined) return { privateKeyFile, publicKeyFile, privateKeyPem, publicKeyPem };

  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await mkdir(path.resolve(dataDir), { recursive: true });
  await writeFile(privateKeyFile, pair.privateKey, { mode: 0o600 });
  await writeFile(publicKeyFile, pair.publicKey);
  return { privateKeyFile, publicKeyFile, privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
}

/**
 * Outside production, with no Starpay key configured: a development key pair under DATA_DIR, made
 * once, so that a local simulator can sign notifications the service accepts.
 */
export async function ensureDevKeyPair(dataDir: string): Promise<{ publicKeyPem: string; privateKeyFile: string }> {
  const { publicKeyPem, privateKeyFile } = await ensureKeyPairFiles(dataDir, DEV_PRIVATE_KEY_FILE, DEV_PUBLIC_KEY_FILE);
  return { publicKeyPem, privateKeyFile };
}
