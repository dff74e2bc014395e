import { describe, expect, it } from 'vitest';
import { resendDelays, scheduleSpanMs, STARPAY_RESEND_INTERVALS_MS } from '../../src/simulator/schedule.js';

describe("the simulator's resend schedule", () => {
  it("is Starpay's: 9 resends, 30 s to 15 h, 24 h 46 min 30 s in all", () => {
    expect(STARPAY_RESEND_INTERVALS_MS.map((ms) => ms / 1000)).toEqual([30, 120, 240, 600, 1800, 3600, 7200, 21600, 54000]);
    expect(scheduleSpanMs(resendDelays(1))).toBe(((24 * 60 + 46) * 60 + 30) * 1000);
  });

  it('is compressed by the time scale: 0.001 makes it 89 s', () => {
    expect(resendDelays(0.001)).toEqual([30, 120, 240, 600, 1800, 3600, 7200, 21600, 54000]);
    expect(scheduleSpanMs(resendDelays(0.001))).toBe(89_190);
  });

  it('rounds to whole milliseconds and allows 0 (resend at once)', () => {
    expect(resendDelays(0.00001)).toEqual([0, 1, 2, 6, 18, 36, 72, 216, 540]);
    expect(resendDelays(0)).toEqual(Array(9).fill(0));
  });

  it('refuses a negative or non-numeric scale', () => {
    expect(() => resendDelays(-1)).toThrow(RangeError);
    expect(() => resendDelays(Number.NaN)).toThrow(RangeError);
  });
});
