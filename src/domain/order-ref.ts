/**
 * The one alphabet of order references, in and out: what a notification may name, what the ops
 * API takes in its path, and what a query to a provider may carry. No `&`, `=`, `%`, `/`, space,
 * control or non-ASCII character, so a reference can never change the meaning of a signed string,
 * a query string or a path it is placed in.
 */
export const ORDER_REF_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export const ORDER_REF_RULE = '1 to 128 characters from A-Z a-z 0-9 _ - . :';

export function isOrderRef(value: string): boolean {
  return ORDER_REF_PATTERN.test(value);
}
