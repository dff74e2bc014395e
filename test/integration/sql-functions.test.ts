import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS_DIR, migrate } from '../../src/store/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.directUrl, max: 2 });
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

/** A query answer for a new order, in the previous version's 17 arguments or this version's 18. */
const ANSWER_ARGS = `'starpay', 'repayment', $1, 'key-' || $1, NULL, 'SUCCESS', 'SUCCESS', 100, NULL, 'PHP', NULL, NULL, NULL,
  '{}'::jsonb, ARRAY[]::text[], NULL::interval, NULL::timestamptz`;
const answerOld = async (ref: string) =>
  (await pool.query<{ outcome: string }>(`SELECT outcome FROM record_query_answer(${ANSWER_ARGS})`, [ref])).rows[0]?.outcome;
const answerNew = async (ref: string) =>
  (await pool.query<{ outcome: string }>(`SELECT outcome FROM record_query_answer(${ANSWER_ARGS}, NULL::text)`, [ref])).rows[0]?.outcome;

describe('the SQL functions across versions', () => {
  it("record_query_answer keeps the previous version's signature, and a rollback re-creating it makes no call ambiguous", async () => {
    expect(await answerOld('SIG-OLD-1')).toBe('created');
    expect(await answerNew('SIG-NEW-1')).toBe('created');
    // What the previous version's file does when it is applied again: its own 17-argument function.
    await pool.query(`CREATE OR REPLACE FUNCTION record_query_answer(
        p_provider text, p_kind text, p_order_ref text, p_answer_key text, p_msg_id text, p_raw_state text, p_state text,
        p_amount bigint, p_paid_amount bigint, p_currency text, p_trx_date text, p_error_code text, p_error_message text,
        p_response jsonb, p_destinations text[], p_first_query_after interval, p_asked_at timestamptz
      ) RETURNS TABLE (outcome text, event_id text) LANGUAGE sql AS $$ SELECT 'previous version'::text, NULL::text $$`);
    expect(await answerOld('SIG-OLD-2')).toBe('previous version');
    expect(await answerNew('SIG-NEW-2')).toBe('created');
  });

  it('a function file whose body does not compile stops the migration, and nothing of it is applied', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'receiver-functions-'));
    try {
      await cp(FUNCTIONS_DIR, dir, { recursive: true });
      await writeFile(path.join(dir, 'zz_broken.sql'), 'CREATE OR REPLACE FUNCTION zz_broken() RETURNS int LANGUAGE sql AS $$ SELECT no_such_function() $$;');
      await expect(migrate(pool, undefined, dir)).rejects.toThrow(/no_such_function/);
      const { rows } = await pool.query(`SELECT 1 FROM pg_proc WHERE proname = 'zz_broken'`);
      expect(rows).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
