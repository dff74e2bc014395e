import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('openDatabase', () => {
  it("reads bigint columns as numbers through its pool, leaving pg's process-wide parsers alone", async () => {
    const db = openDatabase(database.url);
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      const { rows } = await db.pool.query<{ n: unknown }>('SELECT 9007199254740991::int8 AS n');
      expect(rows[0]?.n).toBe(9007199254740991);
      const pooled = await db.pool.connect();
      try {
        expect((await pooled.query<{ n: unknown }>('SELECT 42::int8 AS n')).rows[0]?.n).toBe(42);
      } finally {
        pooled.release();
      }
      const plain = await other.query<{ n: unknown }>('SELECT 42::int8 AS n');
      expect(plain.rows[0]?.n).toBe('42');
    } finally {
      await other.end();
      await db.close();
    }
  });

  it('logs a lost idle connection at warn and keeps serving queries', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const db = openDatabase(database.url, { max: 1, logger: pino({ level: 'info' }, sink) });
    try {
      const { rows } = await db.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      // The pool's only connection is idle now; end it from the server side, as a restart would.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();

      for (let waited = 0; waited < 5_000 && lines.length === 0; waited += 20) await sleep(20);
      expect(lines).toEqual([expect.objectContaining({ level: 40, msg: 'idle database connection lost', err: expect.any(Object) })]);
      expect((await db.pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('survives a connection ended while its client is checked out between statements: the next statement fails, the pool opens a new one', async () => {
    const db = openDatabase(database.url, { max: 1 });
    const unhandled: unknown[] = [];
    const onUncaught = (error: unknown) => unhandled.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const client = await db.pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await client.query('BEGIN');
      // In the middle of a transaction, as a failover would end it.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await admin.end();
      await sleep(300);
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release();
      expect(unhandled).toEqual([]);
      const next = await db.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(next.rows[0]?.pid).not.toBe(rows[0]!.pid);
    } finally {
      process.off('uncaughtException', onUncaught);
      await db.close();
    }
  });
});
