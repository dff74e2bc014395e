import { describe, expect, it } from 'vitest';
import { readCallback } from '../../src/providers/starpago/callback.js';
import { signParams } from '../../src/providers/starpago/sign.js';

const SECRET = 'b2f3c0d9e8a7f6e5d4c3b2a1f0e9d8c7';
const JSON_TYPE = 'application/json;charset=utf-8';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** StarPago's documented v2 payin callback, signed with SECRET. */
function v2Callback(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    amount: 10,
    attach: 'starpago',
    orderNo: '20220915100624412166427270',
    currency: 'IDR',
    createTime: 1663236384416,
    merOrderNo: '20220915070621327792',
    updateTime: 1663236430613,
    orderStatus: 2,
    ...overrides,
  };
  return { ...fields, sign: signParams(fields, SECRET) };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const form = (value: Record<string, unknown>) =>
  Buffer.from(
    new URLSearchParams(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v as string | number)] as [string, string]]))).toString(),
  );

describe('reading a StarPago v2 callback', () => {
  it('accepts a signed JSON callback and maps its fields', () => {
    const body = v2Callback();
    const result = readCallback('payin', json(body), JSON_TYPE, SECRET);
    expect(result).toMatchObject({ ok: true, generation: 'v2', rule: 'skip-empty' });
    if (!result.ok) return;
    expect(result.notification).toEqual({
      provider: 'starpago',
      kind: 'payin',
      orderRef: '20220915070621327792',
      rawState: '2',
      state: 'SUCCESS',
      amount: 1000,
      paidAmount: null,
      currency: 'IDR',
      trxDate: '2022-09-15T10:07:10.613Z',
      errorCode: null,
      errorMessage: null,
      msgId: null,
      dedupKey: `sha256:${body.sign as string}`,
      status: 'accepted',
      request: body,
      signedText: null,
      signature: body.sign,
    });
  });

  it('accepts the same callback as a form body, whose values are all text', () => {
    const fields = { amount: '10.5', currency: 'PHP', merOrderNo: 'M-1', orderStatus: '-1', updateTime: '1663236430613', message: 'bank rejected' };
    const body = { ...fields, sign: signParams(fields, SECRET) };
    const result = readCallback('payout', form(body), `${FORM_TYPE}; charset=UTF-8`, SECRET);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notification).toMatchObject({
      kind: 'payout',
      orderRef: 'M-1',
      rawState: '-1',
      state: 'FAILED',
      amount: 1050,
      trxDate: '2022-09-15T10:07:10.613Z',
      errorMessage: 'bank rejected',
      request: body,
    });
  });

  it('verifies a callback signed as 100.00 in JSON as 100', () => {
    const fields = { amount: 100, currency: 'PHP', merOrderNo: 'M-2', orderStatus: 3 };
    const text = JSON.stringify({ ...fields, sign: signParams(fields, SECRET) }).replace('"amount":100', '"amount":100.00');
    const result = readCallback('payin', Buffer.from(text), JSON_TYPE, SECRET);
    expect(result).toMatchObject({ ok: true, notification: { amount: 10000, state: 'SUCCESS' } });
  });

  it('maps each orderStatus group', () => {
    const states = Object.fromEntries(
      [0, 1, -4, 2, 3, -1, -2, -3].map((orderStatus) => {
        const result = readCallback('payin', json(v2Callback({ orderStatus })), JSON_TYPE, SECRET);
        return [orderStatus, result.ok ? result.notification.state : result.code];
      }),
    );
    expect(states).toEqual({ 0: 'PENDING', 1: 'PENDING', '-4': 'PENDING', 2: 'SUCCESS', 3: 'SUCCESS', '-1': 'FAILED', '-2': 'FAILED', '-3': 'FAILED' });
  });

  it('takes the paid amount from paidAmount, else from Bangladesh realAmount', () => {
    const real = readCallback('payin', json(v2Callback({ currency: 'BDT', amount: 500, realAmount: '499.50' })), JSON_TYPE, SECRET);
    expect(real).toMatchObject({ ok: true, notification: { amount: 50000, paidAmount: 49950 } });
    const paid = readCallback('payin', json(v2Callback({ currency: 'BDT', paidAmount: 450, realAmount: '499.50' })), JSON_TYPE, SECRET);
    expect(paid).toMatchObject({ ok: true, notification: { paidAmount: 45000 } });
  });

  it('refuses a wrong sign with SIGNATURE_INVALID and says which rules were tried', () => {
    const body = { ...v2Callback({ attach: '' }), amount: 1000 };
    const result = readCallback('payin', json(body), JSON_TYPE, SECRET);
    expect(result).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
      sign: { reason: 'SIGN_MISMATCH', rulesTried: ['skip-empty', 'include-empty'], emptyFields: ['attach'] },
      record: { orderRef: '20220915070621327792', msgId: null, request: body },
    });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('refuses a signed callback with PROVIDER_NOT_CONFIGURED when no secret is set', () => {
    expect(readCallback('payin', json(v2Callback()), JSON_TYPE, undefined)).toMatchObject({ ok: false, code: 'PROVIDER_NOT_CONFIGURED' });
    expect(readCallback('payin', json(v2Callback()), JSON_TYPE, '')).toMatchObject({ ok: false, code: 'PROVIDER_NOT_CONFIGURED' });
  });

  it('refuses an authentic callback without merOrderNo or orderStatus with MISSING_FIELD', () => {
    const withoutRef = v2Callback({ merOrderNo: undefined });
    expect(readCallback('payin', json(withoutRef), JSON_TYPE, SECRET)).toMatchObject({ ok: false, code: 'MISSING_FIELD', detail: 'merOrderNo is missing' });
    const withoutState = v2Callback({ orderStatus: undefined });
    expect(readCallback('payin', json(withoutState), JSON_TYPE, SECRET)).toMatchObject({ ok: false, code: 'MISSING_FIELD', detail: 'orderStatus is missing' });
  });
});

describe('reading a StarPago v3 callback', () => {
  const v3 = {
    status: 'PAID',
    orderNo: 'P-9',
    merOrderNo: 'M-3',
    amount: '100.00',
    paidAmount: '99.50',
    currency: 'PHP',
    payMethod: 'GCASH',
    updateTime: 1700000000000,
    params: { qr: 'x' },
  };

  it('reads an unsigned callback as an unverified hint keyed by its status alone', () => {
    const result = readCallback('payin', json(v3), JSON_TYPE, undefined);
    expect(result).toMatchObject({ ok: true, generation: 'v3', rule: null });
    if (!result.ok) return;
    expect(result.notification).toMatchObject({
      orderRef: 'M-3',
      rawState: 'PAID',
      state: 'SUCCESS',
      amount: 10000,
      paidAmount: 9950,
      trxDate: '2023-11-14T22:13:20.000Z',
      status: 'unverified',
      dedupKey: 'v3:PAID',
      signedText: null,
      signature: null,
      request: v3,
    });
  });

  it('reads a v3 form body and maps REFUNDED', () => {
    const result = readCallback('payout', form({ ...v3, status: 'REFUNDED', params: undefined }), FORM_TYPE, undefined);
    expect(result).toMatchObject({ ok: true, notification: { state: 'REFUNDED', dedupKey: 'v3:REFUNDED', amount: 10000 } });
  });

  it('keeps trxDate null when updateTime is not epoch milliseconds', () => {
    const result = readCallback('payin', json({ ...v3, updateTime: '2023-11-14 22:13:20' }), JSON_TYPE, undefined);
    expect(result).toMatchObject({ ok: true, notification: { trxDate: null, dedupKey: 'v3:PAID' } });
  });

  it('keys an undocumented status with PENDING, so that made-up statuses add no rows', () => {
    expect(readCallback('payin', json({ ...v3, status: 'MADE-UP' }), JSON_TYPE, undefined)).toMatchObject({
      ok: true,
      notification: { dedupKey: 'v3:PENDING', rawState: 'MADE-UP' },
    });
  });

  it('refuses a callback without merOrderNo or a string status with MISSING_FIELD', () => {
    expect(readCallback('payin', json({ ...v3, merOrderNo: '' }), JSON_TYPE, undefined)).toMatchObject({ ok: false, code: 'MISSING_FIELD' });
    expect(readCallback('payin', json({ ...v3, status: 2 }), JSON_TYPE, undefined)).toMatchObject({ ok: false, code: 'MISSING_FIELD' });
  });
});

describe('reading an unreadable StarPago body', () => {
  it('refuses it with INVALID_ENVELOPE and records nothing it could not read', () => {
    for (const [body, type] of [
      ['not json', JSON_TYPE],
      ['[{"merOrderNo":"1"}]', JSON_TYPE],
      ['{"__proto__":{"x":1}}', JSON_TYPE],
      ['a=1&a=2', FORM_TYPE],
      ['', FORM_TYPE],
    ] as const) {
      const result = readCallback('payin', Buffer.from(body), type, SECRET);
      expect(result, body).toMatchObject({ ok: false, code: 'INVALID_ENVELOPE' });
      expect(result.ok === false && result.record).toBe(undefined);
    }
    expect(readCallback('payin', Buffer.from([0xff, 0xfe, 0x00]), JSON_TYPE, SECRET)).toMatchObject({ ok: false, code: 'INVALID_ENVELOPE' });
  });
});
