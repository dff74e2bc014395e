import pg from 'pg';

export interface StoredCounts {
  notifications: number;
  deliveryCountSum: number;
  orders: number;
  events: number;
  pendingDeliveries: number;
  deliveredDeliveries: number;
}

/** A single connection to the service's database, for checks made between phases (never during one). */
export async function openInspector(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const counts = async (): Promise<StoredCounts> => {
    const { rows } = await client.query<StoredCounts>(`SELECT
      (SELECT count(*)::int FROM notifications WHERE status = 'accepted') AS "notifications",
      (SELECT coalesce(sum(delivery_count), 0)::int FROM notifications WHERE status = 'accepted') AS "deliveryCountSum",
      (SELECT count(*)::int FROM orders) AS "orders",
      (SELECT count(*)::int FROM events) AS "events",
      (SELECT count(*)::int FROM deliveries WHERE status = 'pending') AS "pendingDeliveries",
      (SELECT count(*)::int FROM deliveries WHERE status = 'delivered') AS "deliveredDeliveries"`);
    return rows[0] as StoredCounts;
  };
  return {
    counts,
    async pending(): Promise<number> {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'");
      return rows[0]?.n ?? 0;
    },
    async attempts(): Promise<number> {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_attempts');
      return rows[0]?.n ?? 0;
    },
    async dead(): Promise<number> {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'dead'");
      return rows[0]?.n ?? 0;
    },
    /** Waits until no delivery is pending; returns the seconds it took, or undefined on timeout. */
    async drained(timeoutMs: number): Promise<number | undefined> {
      const started = performance.now();
      while (performance.now() - started < timeoutMs) {
        // An index probe, not the counts above: polling must not load the database it measures.
        const { rowCount } = await client.query("SELECT 1 FROM deliveries WHERE status = 'pending' LIMIT 1");
        if (rowCount === 0) return (performance.now() - started) / 1000;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return undefined;
    },
    close: () => client.end(),
  };
}
