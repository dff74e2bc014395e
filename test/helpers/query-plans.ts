import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../../src/generated/prisma/client.js';

/** The parts of an EXPLAIN (ANALYZE, FORMAT JSON) node the plan tests read. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

export interface Explained {
  plan: PlanNode;
  /** The plain EXPLAIN text, for a failing assertion's message. */
  text: string;
}

/** A plan node and every node below it. */
export function planNodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(planNodes)];
}

/** EXPLAIN ANALYZE of one statement, in a transaction rolled back: a statement that writes changes nothing. */
export async function explainStatement(pool: pg.Pool, sql: string, params: readonly unknown[]): Promise<Explained> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const json = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, [...params]);
    const text = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...params]);
    return {
      plan: json.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode,
      text: text.rows.map((row) => row['QUERY PLAN']).join('\n'),
    };
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

/**
 * A Prisma client on `pool` that records the statements it sends, so that a test explains the SQL
 * a listing really runs rather than a copy of it.
 */
export function recordingPrisma(pool: pg.Pool) {
  const sent: { query: string; params: unknown[] }[] = [];
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), log: [{ emit: 'event' as const, level: 'query' as const }] });
  prisma.$on('query', (event) => sent.push({ query: event.query, params: JSON.parse(event.params) as unknown[] }));
  return {
    prisma,
    /** Runs `listing`, then explains the first statement it sent. */
    async explainFirst<T>(listing: () => Promise<T>): Promise<Explained & { result: T }> {
      sent.length = 0;
      const result = await listing();
      const statement = sent[0];
      if (statement === undefined) throw new Error('no query captured');
      return { result, ...(await explainStatement(pool, statement.query, statement.params)) };
    },
  };
}
