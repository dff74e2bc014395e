import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The SQL migrations are the source of truth and schema.prisma mirrors them by hand; `prisma
 * migrate diff` needs a schema engine that is not installed here. So: compare what the generated
 * client believes (its runtime data model) with what a freshly migrated database has.
 */

/** One scalar field as the generated client sees it. */
interface ModelColumn {
  model: string;
  field: string;
  table: string;
  column: string;
  /** Prisma scalar type: String, Int, BigInt, Boolean, DateTime, Json, … */
  type: string;
  /** The `@db.X(args)` attribute, when the schema names one: `Timestamptz(3)`. */
  nativeType: string | undefined;
  optional: boolean;
}

/** One column as PostgreSQL has it. */
interface DatabaseColumn {
  table: string;
  column: string;
  /** information_schema's udt_name: text, int8, timestamptz, … */
  type: string;
  nullable: boolean;
  /** Fractional-second digits of a timestamp column. */
  precision: number | null;
}

const RuntimeDataModelSchema = z.object({
  models: z.record(
    z.string(),
    z.object({
      dbName: z.string().nullable(),
      fields: z.array(z.object({ name: z.string(), kind: z.string(), type: z.string(), dbName: z.string().optional() })),
    }),
  ),
});

/**
 * The generated client's own model metadata. Prisma 7's `prisma-client` generator exports no DMMF:
 * the runtime data model (names, database names, scalar types) and the schema text it was built
 * from (optionality, native types) are on the client's engine configuration. If a Prisma upgrade
 * moves them, the zod parse fails here rather than the comparison silently passing.
 */
function modelColumns(client: PrismaClient): ModelColumn[] {
  const engineConfig = z
    .object({ runtimeDataModel: RuntimeDataModelSchema, inlineSchema: z.string().min(1) })
    .parse((client as unknown as { _engineConfig: unknown })._engineConfig);
  const declared = fieldDeclarations(engineConfig.inlineSchema);
  const columns: ModelColumn[] = [];
  for (const [model, { dbName, fields }] of Object.entries(engineConfig.runtimeDataModel.models)) {
    for (const field of fields) {
      if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
      const declaration = declared.get(`${model}.${field.name}`);
      if (declaration === undefined) throw new Error(`${model}.${field.name} is not declared in the client's schema text`);
      columns.push({ model, field: field.name, table: dbName ?? model, column: field.dbName ?? field.name, type: field.type, ...declaration });
    }
  }
  return columns;
}

/** `model X { name Type? @db.Native(args) … }` → optionality and native type of each field. */
function fieldDeclarations(schema: string): Map<string, { optional: boolean; nativeType: string | undefined }> {
  const declarations = new Map<string, { optional: boolean; nativeType: string | undefined }>();
  let model: string | undefined;
  for (const line of schema.split('\n').map((text) => text.replace(/\/\/.*$/, '').trim())) {
    const opening = /^model\s+(\w+)\s*\{$/.exec(line);
    if (opening !== null) model = opening[1];
    else if (line === '}') model = undefined;
    else if (model !== undefined) {
      const field = /^(\w+)\s+(\w+)(\?|\[\])?(.*)$/.exec(line);
      if (field === null) continue;
      const nativeType = /@db\.(\w+(?:\([^)]*\))?)/.exec(field[4] ?? '')?.[1];
      declarations.set(`${model}.${field[1]}`, { optional: field[3] === '?', nativeType });
    }
  }
  return declarations;
}

async function databaseColumns(pool: pg.Pool): Promise<DatabaseColumn[]> {
  const { rows } = await pool.query<{ table: string; column: string; type: string; nullable: boolean; precision: number | null }>(
    `SELECT table_name AS "table", column_name AS "column", udt_name AS "type",
            is_nullable = 'YES' AS "nullable", datetime_precision AS "precision"
       FROM information_schema.columns
      WHERE table_schema = current_schema()
      ORDER BY table_name, ordinal_position`,
  );
  return rows;
}

/** Prisma's default column type per scalar, and the one a native type attribute asks for. */
const DEFAULT_TYPES: Record<string, { type: string; precision?: number }> = {
  String: { type: 'text' },
  Int: { type: 'int4' },
  BigInt: { type: 'int8' },
  Boolean: { type: 'bool' },
  Float: { type: 'float8' },
  Decimal: { type: 'numeric' },
  DateTime: { type: 'timestamp', precision: 3 },
  Json: { type: 'jsonb' },
  Bytes: { type: 'bytea' },
};
const NATIVE_TYPES: Record<string, string> = {
  Text: 'text',
  VarChar: 'varchar',
  Char: 'bpchar',
  Uuid: 'uuid',
  SmallInt: 'int2',
  Integer: 'int4',
  BigInt: 'int8',
  Boolean: 'bool',
  DoublePrecision: 'float8',
  Real: 'float4',
  Decimal: 'numeric',
  Timestamptz: 'timestamptz',
  Timestamp: 'timestamp',
  Date: 'date',
  Json: 'json',
  JsonB: 'jsonb',
  ByteA: 'bytea',
};

function expectedType(column: ModelColumn): { type: string; precision?: number } {
  if (column.nativeType === undefined) return DEFAULT_TYPES[column.type] ?? { type: `unknown Prisma type ${column.type}` };
  const [, name = '', args] = /^(\w+)(?:\(([^)]*)\))?$/.exec(column.nativeType) ?? [];
  const type = NATIVE_TYPES[name] ?? `unknown native type ${name}`;
  // Without an argument a timestamp has PostgreSQL's default precision.
  if (type === 'timestamptz' || type === 'timestamp') return { type, precision: args === undefined || args === '' ? 6 : Number(args) };
  return { type };
}

/** Every disagreement between the client's models and the database, one readable line each. */
function schemaDrift(model: readonly ModelColumn[], database: readonly DatabaseColumn[]): string[] {
  const problems: string[] = [];
  const modelTables = new Set(model.map((column) => column.table));
  const byName = new Map(database.map((column) => [`${column.table}.${column.column}`, column]));
  for (const column of model) {
    const name = `${column.table}.${column.column}`;
    const actual = byName.get(name);
    if (actual === undefined) {
      problems.push(`${name} (${column.model}.${column.field}) is missing from the database`);
      continue;
    }
    const expected = expectedType(column);
    if (actual.type !== expected.type) problems.push(`${name} is ${actual.type} in the database, ${expected.type} in the model`);
    else if (expected.precision !== undefined && actual.precision !== expected.precision) {
      problems.push(`${name} is ${actual.type}(${String(actual.precision)}) in the database, ${expected.type}(${expected.precision}) in the model`);
    }
    if (actual.nullable !== column.optional) {
      problems.push(`${name} is ${actual.nullable ? 'nullable' : 'NOT NULL'} in the database, ${column.optional ? 'optional' : 'required'} in the model`);
    }
  }
  const modelled = new Set(model.map((column) => `${column.table}.${column.column}`));
  for (const column of database) {
    const name = `${column.table}.${column.column}`;
    if (modelTables.has(column.table) && !modelled.has(name)) problems.push(`${name} is in the database but not in the model`);
  }
  return problems;
}

let database: TestDatabase;
let pool: pg.Pool;
let client: PrismaClient;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  client = new PrismaClient({ adapter: new PrismaPg(pool) });
});
afterAll(async () => {
  await client.$disconnect();
  await pool.end();
  await database.drop();
});

describe('the Prisma models', () => {
  it('are read from the generated client with tables, columns, optionality and native types', () => {
    const columns = modelColumns(client);
    expect([...new Set(columns.map((column) => column.table))]).toEqual(
      expect.arrayContaining(['orders', 'notifications', 'events', 'deliveries', 'delivery_attempts']),
    );
    expect(columns).toContainEqual(expect.objectContaining({ model: 'Order', field: 'orderRef', column: 'order_ref', type: 'String', optional: false }));
    expect(columns).toContainEqual(expect.objectContaining({ table: 'orders', column: 'created_at', nativeType: 'Timestamptz(3)' }));
    expect(columns).toContainEqual(expect.objectContaining({ table: 'deliveries', column: 'lease_until', optional: true }));
  });

  it('match the migrated database: every column exists with a compatible type and nullability, and none is unmodelled', async () => {
    expect(schemaDrift(modelColumns(client), await databaseColumns(pool))).toEqual([]);
  });

  it('are reported as drifting from a database whose columns were changed behind their back', async () => {
    const altered = await createTestDatabase();
    const alteredPool = new pg.Pool({ connectionString: altered.url, max: 1 });
    try {
      await alteredPool.query(`
        ALTER TABLE orders ADD COLUMN merchant_note text;
        ALTER TABLE deliveries ALTER COLUMN last_error SET NOT NULL;
        ALTER TABLE events ALTER COLUMN created_at TYPE timestamp(6);
        ALTER TABLE orders ALTER COLUMN updated_at TYPE timestamptz(6);
        ALTER TABLE notifications ALTER COLUMN delivery_count TYPE int8;
        ALTER TABLE delivery_attempts DROP COLUMN error;
      `);
      expect(schemaDrift(modelColumns(client), await databaseColumns(alteredPool)).sort()).toEqual(
        [
          'delivery_attempts.error (DeliveryAttempt.error) is missing from the database',
          'deliveries.last_error is NOT NULL in the database, optional in the model',
          'events.created_at is timestamp in the database, timestamptz in the model',
          'notifications.delivery_count is int8 in the database, int4 in the model',
          'orders.merchant_note is in the database but not in the model',
          'orders.updated_at is timestamptz(6) in the database, timestamptz(3) in the model',
        ].sort(),
      );
    } finally {
      await alteredPool.end();
      await altered.drop();
    }
  });
});
