import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.js';
import { CLAIM_DUE_DELIVERIES } from '../../src/store/outbox.js';
import { listDeliveries } from '../../src/store/deliveries.js';
import { listNotifications } from '../../src/store/notifications.js';
import { listOrders } from '../../src/store/orders.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { explainStatement, planNodes, recordingPrisma, type Explained } from '../helpers/query-plans.js';

/**
 * The ops listings on a large table: each plan must walk an index and stop after a few pages' worth
 * of rows: no sequential scan, no sort of a large set, at any page depth, whatever the filters.
 * The SQL explained is the SQL Prisma actually sends, captured from its query log.
 */

const ORDERS = 200_000;
const LIMIT = 50;
let database: TestDatabase;
let db: Database;
let recording: ReturnType<typeof recordingPrisma>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = openDatabase(database.url);
  recording = recordingPrisma(db.pool);
  // A client of its own: the app pool's 10 s statement timeout is for requests, not for bulk loads.
  const fill = new pg.Client({ connectionString: database.url });
  await fill.connect();
  // Realistic proportions: kinds even, 1% PENDING, 9% FAILED, 1 conflict in 5,000; 1 notification in 30 rejected;
  // two URLs per event, 1% of deliveries pending and 0.1% dead.
  await fill.query(`
    INSERT INTO orders (provider, kind, order_ref, state, raw_state, amount, conflict, stale, amount_mismatch, created_at, updated_at)
    SELECT 'starpay', (ARRAY['disbursement','repayment','static-qr'])[1 + g % 3], 'ref' || g,
           CASE WHEN g % 100 = 0 THEN 'PENDING' WHEN g % 10 = 0 THEN 'FAILED' ELSE 'SUCCESS' END, 'x', 100, g % 5000 = 0,
           g % 4000 = 0, g % 7000 = 0,
           timestamp '2026-01-01' + g * interval '1 second', timestamp '2026-01-01' + g * interval '1 second'
    FROM generate_series(1, ${ORDERS}) AS g`);
  await fill.query(`
    INSERT INTO notifications (provider, kind, order_ref, msg_id, dedup_key, status, reason, raw_state, request, signed_text, signature)
    SELECT 'starpay', (ARRAY['disbursement','repayment','static-qr'])[1 + g % 3], 'ref' || (g / 2 + 1), 'm' || g,
           CASE WHEN g % 30 = 0 THEN 'body:' || g ELSE 'msg:m' || g END,
           CASE WHEN g % 30 = 0 THEN 'rejected' WHEN g % 1000 = 1 THEN 'unverified' ELSE 'accepted' END, CASE WHEN g % 30 = 0 THEN 'SIGNATURE_INVALID' END,
           'SUCCESS', '{}', '{}', 's'
    FROM generate_series(1, ${ORDERS * 2}) AS g`);
  await fill.query(`INSERT INTO events (public_id, order_id, type, body) SELECT 'evt_' || id, id, 't', '{}' FROM orders`);
  await fill.query(`
    INSERT INTO deliveries (event_id, order_id, url, status, delivered_at)
    SELECT e.id, e.order_id, u.url, s.status, CASE WHEN s.status = 'delivered' THEN now() END
    FROM events e CROSS JOIN (VALUES ('http://a/hook'), ('http://b/hook')) AS u (url)
    CROSS JOIN LATERAL (SELECT CASE WHEN e.id % 1000 = 0 THEN 'dead' WHEN e.id % 100 = 0 THEN 'pending' ELSE 'delivered' END AS status) AS s`);
  await fill.query('ANALYZE');
  await fill.end();
}, 120_000);

afterAll(async () => {
  await recording.prisma.$disconnect();
  await db.close();
  await database.drop();
});

/** The plan reads through one of `indexes` and looks at a few pages' worth of rows, never the table. */
function expectIndexWalk(explained: Explained, indexes: readonly string[]): void {
  const all = planNodes(explained.plan);
  expect(all[0]?.['Node Type'], explained.text).toBe('Limit');
  expect(
    all.map((node) => node['Node Type']),
    explained.text,
  ).not.toContain('Seq Scan');
  const scans = all.filter((node) => node['Index Name'] !== undefined);
  expect(
    scans.map((node) => node['Index Name']).filter((name) => indexes.includes(name ?? '')),
    explained.text,
  ).not.toHaveLength(0);
  // Rows a scan returned plus rows its filter threw away: with a Sort above, that is every match.
  const read = scans.reduce((sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'], 0);
  expect(read, explained.text).toBeLessThan(LIMIT * 20);
}

const middle = { updatedAt: new Date('2026-01-02T03:46:40Z'), id: BigInt(ORDERS / 2) };

describe('order listing plans', () => {
  it.each([
    ['first page', {}, ['orders_updated_at_idx']],
    ['a deep page', { after: middle }, ['orders_updated_at_idx']],
    ['by kind', { kind: 'repayment', after: middle }, ['orders_updated_at_idx']],
    ['by state (rare)', { state: 'PENDING', after: middle }, ['orders_state_updated_at_idx']],
    ['by kind and state', { kind: 'static-qr', state: 'FAILED' }, ['orders_state_updated_at_idx']],
    ['conflicts only', { conflict: true }, ['orders_conflict_updated_at_idx']],
    ['stale only', { stale: true }, ['orders_stale_updated_at_idx']],
    ['amount mismatches only', { amountMismatch: true }, ['orders_amount_mismatch_updated_at_idx']],
    [
      'an old, narrow time range',
      { updatedAfter: new Date('2026-01-01T01:00:00Z'), updatedBefore: new Date('2026-01-01T02:00:00Z') },
      ['orders_updated_at_idx'],
    ],
  ] as const)('%s uses %s', async (_label, filters, indexes) => {
    expectIndexWalk(await recording.explainFirst(() => listOrders(recording.prisma, { limit: LIMIT, ...filters })), indexes);
  });
});

describe('notification listing plans', () => {
  it.each([
    ['first page', {}, ['notifications_pkey']],
    ['a deep page', { after: BigInt(ORDERS) }, ['notifications_pkey']],
    ['accepted of one kind', { status: 'accepted', kind: 'disbursement', after: BigInt(ORDERS) }, ['notifications_pkey']],
    ['rejected', { status: 'rejected', after: BigInt(ORDERS) }, ['notifications_rejected_id_idx']],
    ['unverified', { status: 'unverified' }, ['notifications_unverified_id_idx']],
    ['one order', { orderRef: 'ref5000' }, ['notifications_order_ref_id_idx']],
    // A handful of rows per order: the unique index and a sort of those few do as well.
    [
      'one order, accepted, one kind',
      { orderRef: 'ref5000', status: 'accepted', kind: 'repayment' },
      ['notifications_order_ref_id_idx', 'notifications_order_key'],
    ],
  ] as const)('%s uses %s', async (_label, filters, indexes) => {
    expectIndexWalk(await recording.explainFirst(() => listNotifications(recording.prisma, { limit: LIMIT, ...filters })), indexes);
  });
});

describe('delivery listing plans', () => {
  it.each([
    ['first page', {}, ['deliveries_pkey']],
    ['dead', { status: 'dead' }, ['deliveries_status_id_idx']],
    ['pending, a deep page', { status: 'pending', after: BigInt(ORDERS) }, ['deliveries_status_id_idx']],
    // Nearly every row is delivered: the primary key with a filter does as well.
    ['delivered, a deep page', { status: 'delivered', after: BigInt(ORDERS) }, ['deliveries_status_id_idx', 'deliveries_pkey']],
  ] as const)('%s uses %s', async (_label, filters, indexes) => {
    expectIndexWalk(await recording.explainFirst(() => listDeliveries(recording.prisma, { limit: LIMIT, ...filters })), indexes);
  });
});

describe('outbox plans', () => {
  it('claims due deliveries through the due index, checking earlier deliveries of each order through the ordering index', async () => {
    const explained = await explainStatement(db.pool, CLAIM_DUE_DELIVERIES.text, [LIMIT, 30_000, 'http://a/hook', 30_000]);
    const names = planNodes(explained.plan).map((node) => node['Index Name']);
    // The destinations table has a row per destination: scanning it is the cheap way.
    const scanned = planNodes(explained.plan).filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] !== 'destinations');
    expect(scanned, explained.text).toEqual([]);
    expect(names, explained.text).toContain('deliveries_due_idx');
    expect(names, explained.text).toContain('deliveries_order_url_idx');
  });
});
