/**
 * Amounts are read from their decimal text, never through floating point. `trxAmount`, `amount`,
 * `paidAmount` and `realAmount` are each a JSON number, a numeric string, or absent; anything else
 * is refused by the provider that reads them.
 */

/** An unsigned or negative decimal, as providers spell amounts (`10000`, `"10.50"`, `-5`). */
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Absent, null and `""` all mean "no amount given". */
export function isAbsentAmount(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** Whether a money field holds something an amount can be read from: a number or decimal text. */
export function isMoneyValue(value: unknown): boolean {
  if (isAbsentAmount(value)) return true;
  // Any JSON number, even one too large for a double: its digits are read, not its float.
  if (typeof value === 'number') return true;
  return typeof value === 'string' && DECIMAL.test(value.trim());
}

/**
 * Decimal text in major units as integer minor units with `digits` decimals: `"10.5"`, 2 → 1050;
 * `"10000.00"`, 0 → 10000. Trailing zeros lose nothing. A negative value, a fraction finer than
 * `digits` or a value beyond 2^53 gives null: it cannot be a settled amount, and no float rounds it
 * into one (`"100.9999999999999999"` stays unreadable instead of becoming 101).
 */
export function decimalToMinorUnits(text: string, digits: number): number | null {
  const match = DECIMAL.exec(text.trim());
  if (match === null || match[1] === '-') return null;
  const whole = match[2] as string;
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return null;
  const minor = BigInt(whole + fraction.padEnd(digits, '0'));
  return minor <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(minor) : null;
}
