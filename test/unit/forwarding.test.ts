import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, parseRetryAfter, retryDelayMs } from '../../src/domain/retry-policy.js';
import { webhookHeaders } from '../../src/destinations/webhook-signature.js';
import { FORWARD_SECRET } from '../helpers/app.js';

describe('retryDelayMs', () => {
  it('waits the base delay before the first retry, doubling after each failure, plus up to a quarter at random', () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, 1000, () => 0))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, 1000, () => 1))).toEqual([1250, 2500, 5000, 10000]);
  });

  it('is capped at 6 hours, Retry-After included', () => {
    expect(retryDelayMs(40, 1000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(1, 1000, () => 1, 10 * MAX_RETRY_DELAY_MS)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('never retries before Retry-After', () => {
    expect(retryDelayMs(1, 1000, () => 0, 30_000)).toBe(30_000);
    expect(retryDelayMs(5, 1000, () => 0, 2_000)).toBe(16_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('webhookHeaders', () => {
  it('signs so that the standardwebhooks library verifies, and a changed body does not', () => {
    const secret = FORWARD_SECRET;
    const body = '{"type":"starpay.repayment.state_changed","data":{"state":"SUCCESS"}}';
    const headers = webhookHeaders(secret, 'evt_1', Math.floor(Date.now() / 1000), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('SUCCESS', 'FAILED'), headers)).toThrow();
    expect(headers['webhook-id']).toBe('evt_1');
  });
});
