import { describe, expect, it } from 'vitest';
import { EnvelopeError, parseJson, readEnvelope } from '../../src/providers/starpay/envelope.js';

function read(text: string) {
  return readEnvelope(text, parseJson(text));
}

describe('readEnvelope', () => {
  it('slices the exact request text, whatever its spelling', () => {
    const request = '{ "b" : 10000.00, "a":"Pe\\u00f1a", "u":"http:\\/\\/x", "n":{"d":[1,{"e":"}"}]} }';
    expect(read(`{"signature":"c2ln","request":${request}}`).signedText).toBe(request);
    expect(read(` [ {"request" :\n${request} , "signature":"c2ln"} ] `).signedText).toBe(request);
  });

  it('uses the decoded content of a string request', () => {
    const inner = '{"originalMsgId":"1","trxState":"SUCCESS"}';
    const envelope = read(JSON.stringify({ request: inner, signature: 'c2ln' }));
    expect(envelope.signedText).toBe(inner);
    expect(envelope.request).toEqual({ originalMsgId: '1', trxState: 'SUCCESS' });
  });

  it('tolerates members before and after request, including strings with braces and quotes', () => {
    const text = '{"x":"}\\"{","y":[{"z":"]"}],"request":{"k":"v"},"signature":"s"}';
    expect(read(text).signedText).toBe('{"k":"v"}');
    expect(read(text).signature).toBe('s');
  });

  it.each([
    ['a repeated member', '{"request":{},"request":{},"signature":"s"}'],
    ['no request', '{"signature":"s"}'],
    ['a top-level string', '"x"'],
    ['an empty array', '[]'],
    ['a request array', '{"request":[1],"signature":"s"}'],
  ])('refuses %s', (_label, text) => {
    expect(() => read(text)).toThrow(EnvelopeError);
  });

  it('refuses prototype-polluting keys while parsing', () => {
    expect(() => parseJson('{"__proto__":{"polluted":true}}')).toThrow(EnvelopeError);
    expect(() => parseJson('{"constructor":{"prototype":{"polluted":true}}}')).toThrow(EnvelopeError);
  });
});
