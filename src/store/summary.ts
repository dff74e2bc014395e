import type pg from 'pg';
import { ORDER_STATES, type OrderState } from '../domain/order-state.js';

/**
 * GET /ops/summary: counts as the matching /ops/orders and /ops/deliveries filters would list
 * them, and the last verified provider notification (not a query answer, not a hint) per kind. Every count is
 * served by an index (the flags and statuses have partial or leading indexes).
 */
export async function summarise(pool: pg.Pool, kinds: readonly string[]) {
  const [orders, flags, deliveries, last] = await Promise.all([
    pool.query<{ kind: string; state: OrderState; n: number }>('SELECT kind, state, count(*)::int AS n FROM orders GROUP BY kind, state'),
    pool.query<{ conflicts: number; stale: number; mismatches: number }>(
      `SELECT (SELECT count(*)::int FROM orders WHERE conflict) AS conflicts,
              (SELECT count(*)::int FROM orders WHERE stale) AS stale,
              (SELECT count(*)::int FROM orders WHERE amount_mismatch) AS mismatches`,
    ),
    pool.query<{ pending: number; dead: number }>(
      `SELECT (SELECT count(*)::int FROM deliveries WHERE status = 'pending') AS pending,
              (SELECT count(*)::int FROM deliveries WHERE status = 'dead') AS dead`,
    ),
    pool.query<{ kind: string; at: Date | null }>(
      `SELECT k.kind, (SELECT n.last_received_at FROM notifications n
                        WHERE n.kind = k.kind AND n.status = 'accepted' AND n.source = 'notification' AND NOT n.hint
                        ORDER BY n.id DESC LIMIT 1) AS at
       FROM unnest($1::text[]) AS k (kind)`,
      [kinds],
    ),
  ]);
  const byKind = Object.fromEntries(kinds.map((kind) => [kind, Object.fromEntries(ORDER_STATES.map((state) => [state, 0])) as Record<OrderState, number>]));
  for (const row of orders.rows) {
    const counts = byKind[row.kind];
    if (counts !== undefined) counts[row.state] = row.n;
  }
  const flagRow = flags.rows[0] ?? { conflicts: 0, stale: 0, mismatches: 0 };
  return {
    orders: byKind,
    conflicts: flagRow.conflicts,
    stale: flagRow.stale,
    amountMismatches: flagRow.mismatches,
    deliveries: deliveries.rows[0] ?? { pending: 0, dead: 0 },
    lastNotificationAt: Object.fromEntries(last.rows.map((row) => [row.kind, row.at?.toISOString() ?? null])),
  };
}
