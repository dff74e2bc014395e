import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/plugins/metrics.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the counting gauges', () => {
  it('are counted by refreshGauges() only, never by a scrape', async () => {
    let counts = 0;
    const metrics = createMetrics({
      backlog: async () => {
        counts += 1;
        return { pending: 7, dead: 4 };
      },
      flagged: async () => {
        counts += 1;
        return { pending: 5, stale: 2, amountMismatches: 1 };
      },
    });
    await metrics.registry.metrics();
    await metrics.registry.metrics();
    expect(counts).toBe(0);

    await metrics.refreshGauges();
    expect(counts).toBe(2);
    const text = await metrics.registry.metrics();
    await metrics.registry.metrics();
    expect(counts).toBe(2);
    expect(sample(text, 'receiver_outbox_backlog')).toBe(7);
    expect(sample(text, 'receiver_dead_deliveries')).toBe(4);
    expect(sample(text, 'receiver_pending_orders')).toBe(5);
    expect(sample(text, 'receiver_stale_orders')).toBe(2);
    expect(sample(text, 'receiver_amount_mismatches')).toBe(1);
  });

  it('show NaN when a count fails, until a refresh succeeds', async () => {
    let fail = true;
    const metrics = createMetrics({
      backlog: async () => {
        if (fail) throw new Error('database unavailable');
        return { pending: 3, dead: 0 };
      },
    });
    await metrics.refreshGauges();
    expect(sample(await metrics.registry.metrics(), 'receiver_outbox_backlog')).toBeNaN();
    fail = false;
    await metrics.refreshGauges();
    expect(sample(await metrics.registry.metrics(), 'receiver_outbox_backlog')).toBe(3);
  });
});
