import { code as currencyCode } from 'currency-codes';

/**
 * An amount in integer minor units, shown in major units of its currency. The exponent comes from
 * ISO 4217 (JPY 0, PHP 2, KWD 3…); Intl only formats. Unknown currency: the integer and the code.
 */
export function formatAmount(minor: number | null | undefined, currency: string | null | undefined, locale?: string): string {
  if (minor === null || minor === undefined) return '—';
  if (currency === null || currency === undefined || currency === '') return String(minor);
  const digits = currencyCode(currency)?.digits;
  if (digits === undefined || !Number.isSafeInteger(minor)) return `${minor} ${currency}`;
  try {
    const format = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    // A decimal string, not a division: 1234567890123 centavos stay exact.
    return format.format(decimalText(minor, digits));
  } catch {
    return `${minor} ${currency}`;
  }
}

function decimalText(minor: number, digits: number): `${number}` {
  const sign = minor < 0 ? '-' : '';
  const units = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = units.slice(0, units.length - digits);
  const fraction = units.slice(units.length - digits);
  return `${sign}${whole}${digits > 0 ? `.${fraction}` : ''}` as `${number}`;
}

/** An instant in the viewer's zone; the UTC ISO value goes in the title. */
export function localTime(iso: string, locale?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** ISO instant → the value of a `datetime-local` input, in the viewer's zone. */
export function toLocalInput(iso: string | undefined): string {
  if (iso === undefined) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
}

/** A `datetime-local` value (the viewer's zone) → an ISO instant in UTC. */
export function fromLocalInput(value: string): string | undefined {
  if (value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Parsed JSON shown as indented text. */
export function prettyJson(value: unknown): string {
  if (value === undefined || value === null) return '(not parseable)';
  return JSON.stringify(value, null, 2);
}
