import { code } from 'currency-codes';

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * A StarPago amount (major units of `currency`) as integer minor units by the currency's ISO 4217
 * exponent: `"10.5"` PHP → 1050, `13500` IDR → 1350000, `"100"` JPY → 100. Worked on the decimal
 * text, never in floating point; a number is taken through its JavaScript text (as JSON printed
 * it). Trailing zeros lose nothing (`"100.00"` JPY → 100). An unknown currency, a fraction finer
 * than the exponent, a negative, non-numeric or unsafe value gives null: the raw value stays in
 * the request and the notification is never refused for it.
 */
export function toMinorUnits(value: unknown, currency: unknown): number | null {
  if (typeof currency !== 'string') return null;
  const digits = code(currency.trim().toUpperCase())?.digits;
  if (digits === undefined) return null;

  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value); // exponent forms (1e+21, 1e-7) fail the pattern below, as they should
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }

  const match = DECIMAL.exec(text);
  if (match === null) return null;
  const whole = match[1] as string;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return null;

  const minor = BigInt(whole + fraction.padEnd(digits, '0'));
  return minor <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(minor) : null;
}
