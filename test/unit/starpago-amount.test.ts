import { describe, expect, it } from 'vitest';
import { toMinorUnits } from '../../src/providers/starpago/amount.js';

describe('StarPago amounts in minor units', () => {
  it('converts two-decimal currencies from text and from numbers', () => {
    expect(toMinorUnits('10.5', 'PHP')).toBe(1050);
    expect(toMinorUnits('10.50', 'PHP')).toBe(1050);
    expect(toMinorUnits(10.5, 'PHP')).toBe(1050);
    expect(toMinorUnits(13500, 'IDR')).toBe(1350000);
    expect(toMinorUnits(0.29, 'PHP')).toBe(29); // 0.29 * 100 is 28.999999999999996 in floating point
    expect(toMinorUnits(1.005, 'THB')).toBeNull();
    expect(toMinorUnits('0', 'PHP')).toBe(0);
  });

  it('converts zero-decimal and three-decimal currencies', () => {
    expect(toMinorUnits('100', 'JPY')).toBe(100);
    expect(toMinorUnits(25000, 'VND')).toBe(25000);
    expect(toMinorUnits('1.234', 'BHD')).toBe(1234);
  });

  it('drops trailing zeros, which lose nothing', () => {
    expect(toMinorUnits('100.00', 'JPY')).toBe(100);
    expect(toMinorUnits(JSON.parse('100.00') as number, 'JPY')).toBe(100);
  });

  it('gives null for more decimals than the currency has', () => {
    expect(toMinorUnits('10.505', 'PHP')).toBeNull();
    expect(toMinorUnits('100.5', 'JPY')).toBeNull();
  });

  it('gives null for an unknown or missing currency', () => {
    expect(toMinorUnits('10', 'ZZZ')).toBeNull();
    expect(toMinorUnits('10', null)).toBeNull();
    expect(toMinorUnits('10', undefined)).toBeNull();
  });

  it('gives null for negative, non-numeric, exponent and unsafe values, and never throws', () => {
    for (const value of ['-1', -1, 'ten', '', '1e3', 1e21, '1.', '.5', '+5', Number.NaN, Infinity, null, true, {}, '9007199254740992']) {
      expect(toMinorUnits(value, 'PHP')).toBeNull();
    }
    expect(toMinorUnits('90071992547409.91', 'PHP')).toBe(9007199254740991);
  });

  it('reads the currency code case-insensitively', () => {
    expect(toMinorUnits('1', 'php')).toBe(100);
  });
});
