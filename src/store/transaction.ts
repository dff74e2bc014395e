import type pg from 'pg';

/**
 * Runs `work` inside BEGIN … COMMIT on a client of its own, rolling back on any error. A client
 * whose transaction failed goes back to the pool as broken, so a connection lost mid-way is never
 * lent again.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(error as Error);
    throw error;
  }
}
