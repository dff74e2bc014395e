import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadMerchantPrivateKey, MerchantKeyError, parseMerchantPrivateKey } from '../../src/providers/starpay/merchant-key.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8Pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const pkcs1Pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const pkcs8Base64 = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');

/** The parsed key is the same key: what it signs, the merchant public key verifies. */
function signsForMerchant(key: KeyObject): boolean {
  const text = '{"msgId":"1","mchId":"101510000001"}';
  return verify('sha256', Buffer.from(text), publicKey, sign('sha256', Buffer.from(text), key));
}

describe('parseMerchantPrivateKey', () => {
  it('reads a PKCS#8 PEM key', () => {
    expect(signsForMerchant(parseMerchantPrivateKey(pkcs8Pem))).toBe(true);
  });

  it('reads a PKCS#1 PEM key (BEGIN RSA PRIVATE KEY) without conversion', () => {
    expect(pkcs1Pem).toContain('BEGIN RSA PRIVATE KEY');
    expect(signsForMerchant(parseMerchantPrivateKey(pkcs1Pem))).toBe(true);
  });

  it('reads bare base64 of the PKCS#8 DER, with or without line breaks', () => {
    expect(signsForMerchant(parseMerchantPrivateKey(pkcs8Base64))).toBe(true);
    expect(signsForMerchant(parseMerchantPrivateKey(pkcs8Base64.replace(/(.{64})/g, '$1\n')))).toBe(true);
  });

  it('reads a PEM pasted into one line with literal \\n sequences', () => {
    expect(signsForMerchant(parseMerchantPrivateKey(pkcs1Pem.trim().replace(/\n/g, '\\n')))).toBe(true);
  });

  it('refuses an RSA key below 2048 bits', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parseMerchantPrivateKey(weak)).toThrow(/1024 bits; at least 2048/);
  });

  it('refuses a non-RSA key, a public key, an encrypted key and garbage', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parseMerchantPrivateKey(ec)).toThrow(/ec key/);
    expect(() => parseMerchantPrivateKey(publicKey.export({ type: 'spki', format: 'pem' }).toString())).toThrow(/not a private key/);
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
    expect(() => parseMerchantPrivateKey(encrypted)).toThrow(/encrypted/);
    expect(() => parseMerchantPrivateKey('not a key!')).toThrow(MerchantKeyError);
    expect(() => parseMerchantPrivateKey('AAAA')).toThrow(/not a valid base64 PKCS#8/);
  });
});

describe('loadMerchantPrivateKey', () => {
  it('reads STARPAY_MERCHANT_PRIVATE_KEY, or the file STARPAY_MERCHANT_PRIVATE_KEY_FILE names', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'merchant-key-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const file = path.join(directory, 'merchant.pem');
    await writeFile(file, pkcs1Pem);
    const fromValue = await loadMerchantPrivateKey({ key: pkcs8Pem });
    const fromFile = await loadMerchantPrivateKey({ keyFile: file });
    expect(fromValue !== undefined && signsForMerchant(fromValue)).toBe(true);
    expect(fromFile !== undefined && signsForMerchant(fromFile)).toBe(true);
  });

  it('is undefined when neither variable is set', async () => {
    expect(await loadMerchantPrivateKey({})).toBeUndefined();
    expect(await loadMerchantPrivateKey({ key: '  ', keyFile: '' })).toBeUndefined();
  });

  it('names the variable in every error and never quotes the key', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const error = await loadMerchantPrivateKey({ key: weak }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect((error as Error).message).toMatch(/^STARPAY_MERCHANT_PRIVATE_KEY: has 1024 bits/);
    expect((error as Error).message).not.toContain(weak.split('\n')[1]);

    const directory = await mkdtemp(path.join(tmpdir(), 'merchant-key-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const file = path.join(directory, 'weak.pem');
    await writeFile(file, weak);
    await expect(loadMerchantPrivateKey({ keyFile: file })).rejects.toThrow(/^STARPAY_MERCHANT_PRIVATE_KEY_FILE: has 1024 bits/);
    await expect(loadMerchantPrivateKey({ keyFile: path.join(directory, 'missing.pem') })).rejects.toThrow(/^STARPAY_MERCHANT_PRIVATE_KEY_FILE: cannot read/);
    await expect(loadMerchantPrivateKey({ key: pkcs8Pem, keyFile: file })).rejects.toThrow(/both set/);
  });
});
