import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOrders } from '../../src/store/orders.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { planNodes, recordingPrisma } from '../helpers/query-plans.js';

/**
 * The search by order reference on a large table: the prefix must become an index range on
 * orders_order_ref_pattern_idx, whatever the database's collation, never a scan of every order.
 * The SQL explained is the SQL Prisma actually sends, captured from its query log.
 */

const ORDERS = 100_000;
let database: TestDatabase;
let pool: pg.Pool;
let recording: ReturnType<typeof recordingPrisma>;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  recording = recordingPrisma(pool);
  await pool.query(`
    INSERT INTO orders (provider, kind, order_ref, state, raw_state, created_at, updated_at)
    SELECT 'starpay', (ARRAY['disbursement','repayment','static-qr'])[1 + g % 3], '2026' || lpad(g::text, 10, '0'), 'SUCCESS', 'x',
           timestamp '2026-01-01' + g * interval '1 second', timestamp '2026-01-01' + g * interval '1 second'
    FROM generate_series(1, ${ORDERS}) AS g`);
  await pool.query('ANALYZE orders');
}, 120_000);

afterAll(async () => {
  await recording.prisma.$disconnect();
  await pool.end();
  await database.drop();
});

async function explain(orderRef: string, filters: { kind?: string } = {}) {
  const { result: page, plan, text } = await recording.explainFirst(() => listOrders(recording.prisma, { limit: 50, orderRef, ...filters }));
  return { page, all: planNodes(plan), text };
}

describe('order search plan', () => {
  it.each([
    ['a whole reference', '20260000054321', {}, 1],
    ['a prefix matching ten orders', '2026000005432', {}, 10],
    ['a prefix matching a hundred orders, a third of them of one kind', '202600000543', { kind: 'repayment' }, 33],
  ])('%s reads the pattern index and only the matching rows', async (_label, prefix, filters, expected) => {
    const { page, all, text } = await explain(prefix, filters);
    expect(page.items).toHaveLength(expected);
    expect(
      all.map((node) => node['Node Type']),
      text,
    ).not.toContain('Seq Scan');
    const scans = all.filter((node) => node['Index Name'] !== undefined);
    expect(
      scans.map((node) => node['Index Name']),
      text,
    ).toContain('orders_order_ref_pattern_idx');
    const read = scans.reduce((sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'], 0);
    expect(read, text).toBeLessThanOrEqual(100);
  });
});
