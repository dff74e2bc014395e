import { describe, expect, it } from 'vitest';
import { v2State, v3State } from '../../src/providers/starpago/states.js';

describe('StarPago states', () => {
  it('maps v2 orderStatus 2 and 3 to SUCCESS, as numbers or text', () => {
    for (const status of [2, 3, '2', '3']) expect(v2State(status)).toBe('SUCCESS');
  });

  it('maps v2 orderStatus -1, -2 and -3 to FAILED', () => {
    for (const status of [-1, -2, -3, '-1', '-2', '-3']) expect(v2State(status)).toBe('FAILED');
  });

  it('keeps v2 orderStatus 0, 1, -4 and anything unknown PENDING', () => {
    for (const status of [0, 1, -4, '0', '1', '-4', 4, 2.5, 'PAID', '', null, undefined]) expect(v2State(status)).toBe('PENDING');
  });

  it('maps v3 status PAID to SUCCESS, FAILED and EXPIRED to FAILED, REFUNDED to REFUNDED', () => {
    expect(v3State('PAID')).toBe('SUCCESS');
    expect(v3State('FAILED')).toBe('FAILED');
    expect(v3State('EXPIRED')).toBe('FAILED');
    expect(v3State('REFUNDED')).toBe('REFUNDED');
  });

  it('keeps v3 CREATED, PENDING, EXCEPTION, other spellings and unknown values PENDING', () => {
    for (const status of ['CREATED', 'PENDING', 'EXCEPTION', 'paid', 'SUCCESS', 'toString', '', 2, null]) expect(v3State(status)).toBe('PENDING');
  });
});
