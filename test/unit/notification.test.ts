import { describe, expect, it } from 'vitest';
import { NotificationFieldError, normaliseTrxState, toCentavos, toNotification } from '../../src/providers/starpay/notification.js';

describe('toCentavos', () => {
  it.each([
    [10000, 10000],
    ['10000', 10000],
    ['10000.00', 10000],
    [10000.5, null],
    ['12.34', null],
    ['abc', null],
    [1e21, null],
    [null, null],
    [true, null],
    ['-500', null],
    [-500, null],
    ['100.9999999999999999', null],
  ])('reads %j as %j', (input, expected) => {
    expect(toCentavos(input, JSON.stringify({ trxAmount: input }))).toBe(expected);
  });

  it('reads a number from the digits that were signed, not from its float', () => {
    const signedText = '{"trxAmount":100.9999999999999999,"originalMsgId":"o"}';
    expect(toCentavos(JSON.parse(signedText).trxAmount, signedText)).toBeNull();
    expect(toCentavos(10000, '{"trxAmount" : 10000.000 }')).toBe(10000);
  });
});

describe('toNotification', () => {
  it('keys a notification by msgId, or by the hash of the signed text without one', () => {
    const withId = toNotification('repayment', { originalMsgId: 'o', trxState: 'FAIL', msgId: 'm1' }, '{}');
    expect(withId).toMatchObject({ dedupKey: 'msg:m1', state: 'FAILED', rawState: 'FAIL' });
    const a = toNotification('repayment', { originalMsgId: 'o', trxState: 'S' }, '{"a":1}');
    const b = toNotification('repayment', { originalMsgId: 'o', trxState: 'S' }, '{"a": 1}');
    expect(a.dedupKey).toMatch(/^sha256:/);
    expect(a.dedupKey).not.toBe(b.dedupKey);
  });

  it('requires originalMsgId and trxState as non-empty strings', () => {
    expect(() => toNotification('repayment', { trxState: 'SUCCESS' }, '')).toThrow(NotificationFieldError);
    expect(() => toNotification('repayment', { originalMsgId: 'o', trxState: '' }, '')).toThrow(NotificationFieldError);
  });
});

describe('Starpay states', () => {
  it('normalises trxState', () => {
    expect(['SUCCESS', 'FAIL', 'FAILED', 'FAILURE', 'success', 'Fail', ' SUCCESS', 'PROCESSING', ''].map(normaliseTrxState)).toEqual([
      'SUCCESS',
      'FAILED',
      'FAILED',
      'FAILED',
      'PENDING',
      'PENDING',
      'PENDING',
      'PENDING',
      'PENDING',
    ]);
  });

  it("marks the notification as Starpay's, accepted, with the signed text and signature kept", () => {
    const notification = toNotification('repayment', { originalMsgId: 'o', trxState: 'SUCCESS' }, '{"x":1}', 'c2ln');
    expect(notification).toMatchObject({
      provider: 'starpay',
      kind: 'repayment',
      status: 'accepted',
      signedText: '{"x":1}',
      signature: 'c2ln',
      paidAmount: null,
    });
  });
});
