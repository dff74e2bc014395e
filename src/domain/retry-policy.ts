/** Longest wait between two attempts of a delivery. */
export const MAX_RETRY_DELAY_MS = 6 * 60 * 60 * 1000;

/** Random extra on top of each delay, as a share of it: retries of many deliveries spread out. */
export const JITTER_SHARE = 0.25;

/**
 * Delay before the next attempt after `attempts` failed ones: `backoffMs` doubled per failure
 * (so the first retry waits `backoffMs`), plus up to a quarter more at random, never earlier than
 * the receiver's Retry-After, and capped at 6 hours.
 */
export function retryDelayMs(attempts: number, backoffMs: number, random: () => number, retryAfterMs?: number): number {
  const exponential = Math.min(backoffMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
  const jittered = exponential * (1 + JITTER_SHARE * random());
  return Math.round(Math.min(Math.max(jittered, retryAfterMs ?? 0), MAX_RETRY_DELAY_MS));
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
