import type { DeliveryResult } from '../domain/destination.js';

/**
 * The deliveries a destination has in flight, so that close() can wait for them, and refuse new
 * ones once closing: what every destination type's deliver() and close() share.
 */
export function inFlightDeliveries() {
  const pending = new Set<Promise<DeliveryResult>>();
  let closing = false;
  return {
    /** Runs one delivery, tracked; after close began, answers a failed attempt the outbox retries. */
    async run(deliver: () => Promise<DeliveryResult>): Promise<DeliveryResult> {
      if (closing) return { ok: false, error: 'destination closed' };
      const attempt = deliver();
      pending.add(attempt);
      try {
        return await attempt;
      } finally {
        pending.delete(attempt);
      }
    },
    /** Refuses new deliveries and waits for those in flight to settle. */
    async drain(): Promise<void> {
      closing = true;
      await Promise.allSettled([...pending]);
    },
  };
}
