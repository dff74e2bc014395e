/** A scalar field as text: a string as it is, a finite number as JSON prints it; anything else null. */
export function fieldText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** A field that must be a string to count: the string, else null. */
export function stringField(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
