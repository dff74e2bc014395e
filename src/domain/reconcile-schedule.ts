/**
 * How long a new PENDING order of a queryable kind waits for its first query: RECONCILE_SCHEDULE's
 * first slot. Every writer that enters an order into the schedule takes it from here; the waits
 * after that are query_slot_wait() in SQL, where the order's used slots are counted.
 */
export function firstSlotMs(scheduleMs: readonly number[]): number | null {
  return scheduleMs[0] ?? null;
}
