import { code } from 'currency-codes';
import { decimalToMinorUnits } from '../../domain/amount.js';

/**
 * A StarPago amount (major units of `currency`) as integer minor units by the currency's ISO 4217
 * exponent: `"10.5"` PHP → 1050, `13500` IDR → 1350000, `"100"` JPY → 100. Worked on the decimal
 * text, never in floating point; a number is taken through its JavaScript text, which is also what
 * its sign covered. An unknown currency, a fraction finer than the exponent, a negative,
 * non-numeric or unsafe value gives null: the raw value stays in the request.
 */
export function toMinorUnits(value: unknown, currency: unknown): number | null {
  if (typeof currency !== 'string') return null;
  const digits = code(currency.trim().toUpperCase())?.digits;
  if (digits === undefined) return null;
  if (typeof value === 'number') {
    // exponent forms (1e+21, 1e-7) are not decimal text and give null, as they should
    return Number.isFinite(value) ? decimalToMinorUnits(String(value), digits) : null;
  }
  return typeof value === 'string' ? decimalToMinorUnits(value, digits) : null;
}
