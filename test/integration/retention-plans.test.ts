import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PURGE_ATTEMPT_LOGS, PURGE_BATCH_ROWS, PURGE_RAW_BODIES } from '../../src/store/retention.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { explainStatement, planNodes, type Explained } from '../helpers/query-plans.js';

/**
 * The purge statements on large tables: each walks its partial index from the oldest row still to
 * purge and reads about one batch, whatever lies behind it (rows purged before, rows too young,
 * other statuses): no sequential scan of notifications, deliveries or delivery_attempts.
 */

const NOTIFICATIONS = 300_000;
const DELIVERIES = 200_000;
const DAY_MS = 86_400_000;
let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.directUrl, max: 2 });
  // A client of its own: the app pool's statement bound is for requests, not for bulk loads.
  const fill = new pg.Client({ connectionString: database.directUrl });
  await fill.connect();
  // 200 days of notifications, oldest first; the oldest 40% already purged; 1 in 1,000 an unverified hint.
  await fill.query(`
    INSERT INTO notifications (provider, kind, order_ref, msg_id, dedup_key, status, raw_state, request, signed_text, signature,
                               first_received_at, last_received_at, request_purged_at)
    SELECT 'starpay', 'repayment', 'ref' || g, 'm' || g, 'msg:m' || g, CASE WHEN g % 1000 = 1 THEN 'unverified' ELSE 'accepted' END,
           'SUCCESS', '{"originalMsgId":"x"}', '{"originalMsgId":"x"}', 's',
           now() - interval '200 days' + g * (interval '200 days' / ${NOTIFICATIONS}),
           now() - interval '200 days' + g * (interval '200 days' / ${NOTIFICATIONS}),
           CASE WHEN g < ${NOTIFICATIONS * 0.4} THEN now() END
    FROM generate_series(1, ${NOTIFICATIONS}) AS g`);
  await fill.query(`
    INSERT INTO orders (provider, kind, order_ref, state) SELECT 'starpay', 'repayment', 'ref' || g, 'SUCCESS' FROM generate_series(1, ${DELIVERIES}) AS g`);
  await fill.query(`INSERT INTO events (public_id, order_id, type, body) SELECT 'evt_' || id, id, 't', '{}' FROM orders`);
  // 100 days of deliveries: 1% pending, 0.1% dead, the rest delivered; the oldest 30% already purged; 1 to 3 attempts each.
  await fill.query(`
    INSERT INTO deliveries (event_id, order_id, url, status, attempts, delivered_at, attempt_log_purged_at)
    SELECT e.id, e.order_id, 'http://a/hook', s.status, 1 + e.id % 3,
           CASE WHEN s.status = 'delivered' THEN now() - interval '100 days' + e.id * (interval '100 days' / ${DELIVERIES}) END,
           CASE WHEN s.status = 'delivered' AND e.id < ${DELIVERIES * 0.3} THEN now() END
    FROM events e
    CROSS JOIN LATERAL (SELECT CASE WHEN e.id % 1000 = 0 THEN 'dead' WHEN e.id % 100 = 0 THEN 'pending' ELSE 'delivered' END AS status) AS s`);
  await fill.query(`
    INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, status_code)
    SELECT d.id, now(), 10, 204 FROM deliveries d CROSS JOIN LATERAL generate_series(1, d.attempts) AS n
    WHERE d.attempt_log_purged_at IS NULL`);
  await fill.query('ANALYZE');
  await fill.end();
}, 180_000);

afterAll(async () => {
  await pool.end();
  await database.drop();
});

function expectIndexedBatch(explained: Explained, index: string, tables: readonly string[]): void {
  const all = planNodes(explained.plan);
  expect(
    all.map((node) => node['Node Type']),
    explained.text,
  ).not.toContain('Seq Scan');
  expect(
    all.map((node) => node['Index Name']),
    explained.text,
  ).toContain(index);
  for (const table of tables) expect(explained.text, `${table} is read by an index`).toMatch(new RegExp(`Index (Only )?Scan using \\w+ on ${table}\\b`));
  // The walk reads about one batch: the rows it purged and the few young ones it stops at.
  const scans = all.filter((node) => node['Index Name'] === index);
  const read = scans.reduce((sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'], 0);
  expect(read, explained.text).toBeLessThanOrEqual(PURGE_BATCH_ROWS * 2);
}

describe('purge statement plans', () => {
  it('walks notifications_unpurged_received_idx for a batch of raw bodies', async () => {
    const explained = await explainStatement(pool, PURGE_RAW_BODIES, [90 * DAY_MS, PURGE_BATCH_ROWS]);
    expectIndexedBatch(explained, 'notifications_unpurged_received_idx', ['notifications']);
  });

  it('walks deliveries_delivered_unpurged_idx, and deletes attempt records through delivery_attempts_delivery_id_idx', async () => {
    const explained = await explainStatement(pool, PURGE_ATTEMPT_LOGS, [30 * DAY_MS, PURGE_BATCH_ROWS]);
    expectIndexedBatch(explained, 'deliveries_delivered_unpurged_idx', ['deliveries', 'delivery_attempts']);
    expect(planNodes(explained.plan).map((node) => node['Index Name'])).toContain('delivery_attempts_delivery_id_idx');
  });
});
