/** Starpay's resend intervals: after the first attempt, 9 resends over about 24 h 47 min. */
export const STARPAY_RESEND_INTERVALS_MS: readonly number[] = [
  30_000, // 30 s
  2 * 60_000, // 2 m
  4 * 60_000, // 4 m
  10 * 60_000, // 10 m
  30 * 60_000, // 30 m
  60 * 60_000, // 1 h
  2 * 3_600_000, // 2 h
  6 * 3_600_000, // 6 h
  15 * 3_600_000, // 15 h
];

/**
 * The wait before each resend, compressed by `timeScale` (0.001 turns 24 h 47 min into 89 s;
 * 1 is real time, 0 resends at once). Waits are whole milliseconds.
 */
export function resendDelays(timeScale: number, intervals: readonly number[] = STARPAY_RESEND_INTERVALS_MS): number[] {
  if (!Number.isFinite(timeScale) || timeScale < 0) throw new RangeError(`time scale must be a number ≥ 0, got ${timeScale}`);
  return intervals.map((ms) => Math.round(ms * timeScale));
}

/** How long a notification that is never acknowledged keeps being resent. */
export function scheduleSpanMs(delays: readonly number[]): number {
  return delays.reduce((sum, ms) => sum + ms, 0);
}
