import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignature } from '../../src/providers/starpay/signature.js';
import { parsePublicKeys, PublicKeyError } from '../../src/providers/starpay/public-keys.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { signText } from '../../src/simulator/starpay-envelope.js';

const pair = generateRsaKeyPair();
const keys = parsePublicKeys(pair.publicKeyPem);

describe('checkSignature', () => {
  const text = '{"originalMsgId":"1","trxState":"SUCCESS"}';
  const request = JSON.parse(text);

  it('verifies SHA256withRSA over the exact text', () => {
    expect(checkSignature(text, signText(text, pair.privateKey), keys)).toEqual({ ok: true });
  });

  it('accepts a signature with line breaks or in URL-safe base64', () => {
    const signature = signText(text, pair.privateKey);
    const wrapped = signature.replace(/(.{64})/g, '$1\n');
    const urlSafe = signature.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(checkSignature(text, wrapped, keys).ok).toBe(true);
    expect(checkSignature(text, urlSafe, keys).ok).toBe(true);
  });

  it('never verifies over a re-serialisation: the same request spelled otherwise is refused', () => {
    const signature = signText(text, pair.privateKey);
    expect(checkSignature(JSON.stringify(request, null, 2), signature, keys).ok).toBe(false);
    const decimal = '{"originalMsgId":"1","trxState":"SUCCESS","trxAmount":10000}';
    expect(checkSignature(decimal.replace('10000', '10000.00'), signText(decimal, pair.privateKey), keys).ok).toBe(false);
  });

  it('names why a signature is refused', () => {
    expect(checkSignature(text, undefined, keys)).toEqual({ ok: false, reason: 'SIGNATURE_MISSING' });
    expect(checkSignature(text, '***', keys)).toEqual({ ok: false, reason: 'SIGNATURE_UNDECODABLE' });
    const other = signText(text, generateRsaKeyPair().privateKey);
    expect(checkSignature(text, other, keys)).toEqual({ ok: false, reason: 'SIGNATURE_MISMATCH' });
    const altered = text.replace('SUCCESS', 'FAILED');
    expect(checkSignature(altered, signText(text, pair.privateKey), keys).ok).toBe(false);
  });
});

describe('parsePublicKeys', () => {
  const second = generateRsaKeyPair();

  it('reads PEM and bare base64 keys separated by commas or blank lines', () => {
    expect(parsePublicKeys(`${pair.publicKeyPem},${second.publicKeyBase64}`)).toHaveLength(2);
    expect(parsePublicKeys(`${pair.publicKeyBase64}\n\n${second.publicKeyBase64}`)).toHaveLength(2);
    expect(parsePublicKeys(`${pair.publicKeyPem}\n${second.publicKeyPem}`)).toHaveLength(2);
    const parsed = parsePublicKeys(second.publicKeyBase64)[0];
    expect(parsed?.export({ type: 'spki', format: 'pem' })).toBe(second.publicKeyPem);
  });

  it('refuses keys under 2048 bits, non-RSA keys, garbage and an empty list', () => {
    const weak = generateRsaKeyPair(1024).publicKeyPem;
    expect(() => parsePublicKeys(weak)).toThrow(/1024 bits/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKeys(ec)).toThrow(PublicKeyError);
    expect(() => parsePublicKeys('not-a-key')).toThrow(PublicKeyError);
    expect(() => parsePublicKeys(' , ')).toThrow(/no Starpay public key/);
    expect(createPublicKey(pair.publicKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });
});
