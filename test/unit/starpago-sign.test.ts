import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signParams, stringToSign, verifySign } from '../../src/providers/starpago/sign.js';

const SECRET = 'daa153d25c25c3736b474a91aeaa7fa7';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

// StarPago's "Signature Example": the exact string and its digest as the page gives them.
const DOCUMENTED_STRING =
  'amount=100&appId=af37752d8bfc9c23ce9a39e6cf44d135&attach=StarPago&currency=THB&extra=accountName=NGUYEN TIEN HUY&accountNo=123456123456&bankCode=TMB&email=StarPago@gmail.com&mobile=0123445677&merOrderNo=4085_12200315&notifyUrl=https://19fb-15-164-4-252.ngrok-free.app/Payin/Callback/StarPagoPayTHB/4085&payMethod=PROMPTPAY&return_url=/&key=daa153d25c25c3736b474a91aeaa7fa7';
const DOCUMENTED_SIGN = 'e751a90689e87ffdbc3025d9e37825f11ed76742e9d1316c0cfbac6313c580aa';

/** The documented request as a merchant's JSON would carry it: keys unsorted, amount spelled 100.00. */
const documentedParams = (): Record<string, unknown> =>
  JSON.parse(
    '{"return_url":"/","payMethod":"PROMPTPAY","notifyUrl":"https://19fb-15-164-4-252.ngrok-free.app/Payin/Callback/StarPagoPayTHB/4085",' +
      '"merOrderNo":"4085_12200315","extra":{"mobile":"0123445677","email":"StarPago@gmail.com","bankCode":"TMB","accountNo":"123456123456",' +
      '"accountName":"NGUYEN TIEN HUY"},"currency":"THB","attach":"StarPago","appId":"af37752d8bfc9c23ce9a39e6cf44d135","amount":100.00}',
  ) as Record<string, unknown>;

describe('StarPago v2 sign', () => {
  it('reproduces the documented known-answer vector, string and digest', () => {
    expect(sha256(DOCUMENTED_STRING)).toBe(DOCUMENTED_SIGN);
    expect(stringToSign(documentedParams(), SECRET)).toBe(DOCUMENTED_STRING);
    expect(signParams(documentedParams(), SECRET)).toBe(DOCUMENTED_SIGN);
  });

  it('verifies the documented request carrying its sign, and names the rule that matched', () => {
    const params = { ...documentedParams(), sign: DOCUMENTED_SIGN };
    expect(verifySign(params, SECRET)).toEqual({ ok: true, rule: 'skip-empty', sign: DOCUMENTED_SIGN });
    expect(verifySign({ ...params, sign: DOCUMENTED_SIGN.toUpperCase() }, SECRET).ok).toBe(true);
  });

  it('signs 100.00 as 100 and a float as its shortest text', () => {
    expect(stringToSign(JSON.parse('{"amount":100.00,"fee":10.50,"rate":1.0}') as Record<string, unknown>, 's')).toBe('amount=100&fee=10.5&rate=1&key=s');
    expect(stringToSign({ updateTime: 1663236430613, orderStatus: -1 }, 's')).toBe('orderStatus=-1&updateTime=1663236430613&key=s');
  });

  it('renders a nested extra with its keys sorted and nothing quoted or escaped', () => {
    const params = { merOrderNo: 'A1', extra: { mobile: '0917 000', accountName: 'Ñino & Co', email: 'a@b.c' } };
    expect(stringToSign(params, 's')).toBe('extra=accountName=Ñino & Co&email=a@b.c&mobile=0917 000&merOrderNo=A1&key=s');
  });

  it('sorts keys by code point: upper case before lower case, astral characters last', () => {
    expect(stringToSign({ b: 1, B: 2, a: 3, '\u{1F600}': 4, '\uFF21': 5 }, 's')).toBe('B=2&a=3&b=1&\uFF21=5&\u{1F600}=4&key=s');
  });

  it('renders booleans as true and false', () => {
    expect(stringToSign({ test: true, live: false }, 's')).toBe('live=false&test=true&key=s');
  });

  it('leaves out the sign itself whatever its value', () => {
    expect(stringToSign({ a: '1', sign: 'whatever' }, 's')).toBe('a=1&key=s');
  });

  describe('null and empty values', () => {
    const fields = { merOrderNo: 'A1', attach: '', message: null, extra: { mobile: '', bankCode: 'TMB' }, orderStatus: 2 };

    it('skips null and empty values under the first rule, and empty nested fields too', () => {
      expect(stringToSign(fields, 's', 'skip-empty')).toBe('extra=bankCode=TMB&merOrderNo=A1&orderStatus=2&key=s');
    });

    it('includes them as empty text under the second rule', () => {
      expect(stringToSign(fields, 's', 'include-empty')).toBe('attach=&extra=bankCode=TMB&mobile=&merOrderNo=A1&message=&orderStatus=2&key=s');
    });

    it('verifies a body signed with empty values skipped, by the first rule', () => {
      const sign = sha256('extra=bankCode=TMB&merOrderNo=A1&orderStatus=2&key=s');
      expect(verifySign({ ...fields, sign }, 's')).toEqual({ ok: true, rule: 'skip-empty', sign });
    });

    it('verifies a body signed with empty values included, by the second rule', () => {
      const sign = sha256('attach=&extra=bankCode=TMB&mobile=&merOrderNo=A1&message=&orderStatus=2&key=s');
      expect(verifySign({ ...fields, sign }, 's')).toEqual({ ok: true, rule: 'include-empty', sign });
    });

    it('on a mismatch says which rules were tried and which fields are empty, never the secret', () => {
      const result = verifySign({ ...fields, sign: 'a'.repeat(64) }, 'the-secret');
      expect(result).toEqual({
        ok: false,
        reason: 'SIGN_MISMATCH',
        rulesTried: ['skip-empty', 'include-empty'],
        emptyFields: ['attach', 'message', 'extra.mobile'],
      });
      expect(JSON.stringify(result)).not.toContain('the-secret');
    });

    it('tries one rule only when no field is empty, since both would sign the same string', () => {
      expect(verifySign({ a: '1', sign: 'b'.repeat(64) }, 's')).toMatchObject({ ok: false, rulesTried: ['skip-empty'], emptyFields: [] });
    });
  });

  it('refuses a missing or malformed sign without comparing anything', () => {
    expect(verifySign({ a: '1' }, 's')).toMatchObject({ ok: false, reason: 'SIGN_MISSING', rulesTried: [] });
    expect(verifySign({ a: '1', sign: 'abc' }, 's')).toMatchObject({ ok: false, reason: 'SIGN_MALFORMED', rulesTried: [] });
    expect(verifySign({ a: '1', sign: 42 }, 's')).toMatchObject({ ok: false, reason: 'SIGN_MALFORMED' });
  });

  it('refuses the right sign under another secret, and an altered field', () => {
    const params = { ...documentedParams(), sign: DOCUMENTED_SIGN };
    expect(verifySign(params, 'another-secret').ok).toBe(false);
    expect(verifySign({ ...params, amount: 1000 }, SECRET).ok).toBe(false);
  });
});
