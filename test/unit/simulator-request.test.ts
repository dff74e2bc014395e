import { verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readEnvelope } from '../../src/providers/starpay/envelope.js';
import { checkSignature } from '../../src/providers/starpay/signature.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { requestText, signedBody, type Spelling } from '../../src/simulator/request.js';
import { ENVELOPE_STYLES, envelopeBody, signText } from '../../src/simulator/starpay-envelope.js';

const { privateKey, publicKey } = generateRsaKeyPair();
const other = generateRsaKeyPair();

const fields = {
  code: '200',
  msgId: '1732525478868001',
  originalMsgId: '202411251100630001',
  trxState: 'SUCCESS',
  trxAmount: 10000,
  currency: 'PHP',
  displayName: 'Kapihan sa Las Piñas 24/7',
};
const plain: Spelling = { amount: 'number', escapes: false, envelope: 'object' };

describe('the request text the simulator signs', () => {
  it('is compact JSON in the given field order', () => {
    expect(requestText(fields)).toBe(JSON.stringify(fields));
  });

  it.each([
    ['number', '"trxAmount":10000,'],
    ['string', '"trxAmount":"10000",'],
    ['decimal-string', '"trxAmount":"10000.00",'],
    ['decimal-number', '"trxAmount":10000.00,'],
  ] as const)('spells trxAmount as %s', (amount, expected) => {
    const text = requestText(fields, { ...plain, amount });
    expect(text).toContain(expected);
    expect(Number((JSON.parse(text) as { trxAmount: unknown }).trxAmount)).toBe(10000);
  });

  it('can escape "/" and non-ASCII the way Java and PHP do, meaning the same', () => {
    const text = requestText(fields, { ...plain, escapes: true });
    expect(text).toContain(String.raw`"Kapihan sa Las Pi\u00f1as 24\/7"`);
    expect(JSON.parse(text)).toEqual(fields);
  });
});

describe('a signed body', () => {
  it.each(ENVELOPE_STYLES)('in the %s style embeds the signed text byte for byte, and node:crypto verifies it', (envelope) => {
    const spelling: Spelling = { amount: 'decimal-number', escapes: true, envelope };
    const body = signedBody(fields, privateKey, spelling);
    const text = requestText(fields, spelling);
    const parsed = JSON.parse(body) as unknown;
    const inner = (Array.isArray(parsed) ? parsed[0] : parsed) as { request: unknown; signature: string };

    if (envelope === 'string-request') expect(inner.request).toBe(text);
    else expect(body).toContain(`"request":${text}`);
    expect(verify('sha256', Buffer.from(text, 'utf8'), publicKey, Buffer.from(inner.signature, 'base64'))).toBe(true);

    // and the receiver's own reading of the envelope finds the same text and accepts it
    const read = readEnvelope(body, parsed);
    expect(read.signedText).toBe(text);
    expect(checkSignature(read.signedText, read.signature, [publicKey])).toEqual({ ok: true });
  });

  it('signed with another key does not verify', () => {
    const text = requestText(fields);
    const body = envelopeBody(text, signText(text, other.privateKey));
    const read = readEnvelope(body, JSON.parse(body));
    expect(checkSignature(read.signedText, read.signature, [publicKey]).ok).toBe(false);
  });
});
