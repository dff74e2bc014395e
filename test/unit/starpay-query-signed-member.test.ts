import { describe, expect, it } from 'vitest';
import { readSignedMember } from '../../src/providers/starpay/envelope.js';
import { EnvelopeError, parseJson } from '../../src/providers/starpay/envelope.js';

const read = (text: string) => readSignedMember(text, parseJson(text), 'response');

describe('readSignedMember', () => {
  it('slices the response text exactly as sent: number spelling, escapes and spaces kept', () => {
    const response = '{"code":"200","trxAmount":10000.00,"note":"a\\/b \\u00f1", "trxState" : "SUCCESS"}';
    const member = read(`{ "response" : ${response} , "signature":"c2ln"}`);
    expect(member.signedText).toBe(response);
    expect(member.value).toEqual({ code: '200', trxAmount: 10000, note: 'a/b ñ', trxState: 'SUCCESS' });
    expect(member.signature).toBe('c2ln');
  });

  it('finds the response after the signature and after members holding braces and quotes', () => {
    const response = '{"code":"200","message":"}\\"{"}';
    const member = read(`{"signature":"c2ln","extra":{"a":["}",{"b":"]"}]},"response":${response}}`);
    expect(member.signedText).toBe(response);
  });

  it('takes a response given as a JSON string as its decoded content', () => {
    const inner = '{"code":"404","message":"Not found"}';
    const member = read(JSON.stringify({ response: inner, signature: 'c2ln' }));
    expect(member.signedText).toBe(inner);
    expect(member.value).toEqual({ code: '404', message: 'Not found' });
  });

  it('refuses a missing, repeated or non-object response, and a body that is not an object', () => {
    expect(() => read('{"request":{},"signature":"c2ln"}')).toThrow(/response is missing/);
    expect(() => read('{"response":{"code":"200"},"response":{"code":"404"}}')).toThrow(/appears twice/);
    expect(() => read('{"response":[1],"signature":"c2ln"}')).toThrow(EnvelopeError);
    expect(() => read('[{"response":{}}]')).toThrow(EnvelopeError);
    expect(read('{"response":{}}').signature).toBeUndefined();
  });
});
