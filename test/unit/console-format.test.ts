import { describe, expect, it } from 'vitest';
import { formatAmount, fromLocalInput, prettyJson, toLocalInput } from '../../src/console/format.js';

// Intl puts narrow no-break spaces and other separators in; compare on plain spaces.
const plain = (text: string) => text.replace(/\s/g, ' ');

describe('formatAmount', () => {
  it('shows centavos as pesos with two decimals', () => {
    expect(plain(formatAmount(1234567, 'PHP', 'en-US'))).toBe('₱12,345.67');
    expect(plain(formatAmount(5, 'PHP', 'en-US'))).toBe('₱0.05');
    expect(plain(formatAmount(-250, 'PHP', 'en-US'))).toBe('-₱2.50');
  });

  it('takes the exponent from ISO 4217: none for yen and won, three for dinars', () => {
    expect(plain(formatAmount(1500, 'JPY', 'en-US'))).toBe('¥1,500');
    expect(plain(formatAmount(1500, 'KRW', 'en-US'))).toBe('₩1,500');
    expect(plain(formatAmount(1500, 'VND', 'en-US'))).toBe('₫1,500');
    expect(plain(formatAmount(1234, 'KWD', 'en-US'))).toBe('KWD 1.234');
    expect(plain(formatAmount(1234, 'BHD', 'en-US'))).toBe('BHD 1.234');
    expect(plain(formatAmount(10000, 'CLF', 'en-US'))).toBe('CLF 1.0000');
  });

  it('stays exact for amounts a float division would round', () => {
    expect(plain(formatAmount(900719925474099, 'PHP', 'en-US'))).toBe('₱9,007,199,254,740.99');
  });

  it('follows the viewer locale for separators', () => {
    expect(plain(formatAmount(1234567, 'EUR', 'de-DE'))).toBe('12.345,67 €');
  });

  it('shows the integer and the code for an unknown or malformed currency', () => {
    expect(formatAmount(1234, 'ZZZ')).toBe('1234 ZZZ');
    expect(formatAmount(1234, 'not a code')).toBe('1234 not a code');
    expect(formatAmount(1234, null)).toBe('1234');
    expect(formatAmount(null, 'PHP')).toBe('—');
  });

  it('lower-case codes are found in ISO 4217 too', () => {
    expect(plain(formatAmount(1500, 'jpy', 'en-US'))).toBe('¥1,500');
  });
});

describe('datetime-local conversion', () => {
  it('round-trips an instant through the input value to the second', () => {
    const iso = '2026-03-01T10:00:05.000Z';
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
    expect(fromLocalInput('')).toBeUndefined();
    expect(toLocalInput('garbage')).toBe('');
  });
});

describe('prettyJson', () => {
  it('indents the parsed request and keeps markup as plain characters', () => {
    expect(prettyJson({ originalMsgId: '<img src=x>' })).toBe('{\n  "originalMsgId": "<img src=x>"\n}');
    expect(prettyJson(undefined)).toBe('(not parseable)');
  });
});
