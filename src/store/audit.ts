import type pg from 'pg';
import type { AuditRecord, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { toPage, type Page } from './page.js';
import { inTransaction } from './transaction.js';

/** The actions the audit log names. */
export const AUDIT_ACTIONS = [
  'delivery.retry',
  'deliveries.retry',
  'order.reconcile',
  'order.register',
  'destination.pause',
  'destination.resume',
  'session.sign_in',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_ID_PREFIX = 'aud_';

/** Who asked for what, from where: everything of a record but its outcome. */
export interface AuditContext {
  actor: string;
  action: AuditAction;
  target: string | null;
  requestId: string;
  ip: string;
}

/** One record: the context, the HTTP status answered and what changed. Never a secret. */
export interface AuditEntry extends AuditContext {
  status: number;
  details: Record<string, unknown>;
}

/** Completes an action's record with what changed (and the status, when the action decides it). */
export type AuditEntryOf = (details: Record<string, unknown>, status?: number) => AuditEntry;

/** A Prisma interactive transaction or a pg client inside BEGIN: the action's own transaction. */
export type AuditTx = Prisma.TransactionClient | Pick<pg.ClientBase, 'query'>;

const INSERT = `INSERT INTO audit_log (actor, action, target, status, details, request_id, ip) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`;

// Text taken from a request (a path parameter) is bounded like log fields, and made storable:
// PostgreSQL text holds neither NUL nor a lone surrogate, and a refusal of such input is audited too.
const cut = (text: string | null) => (text === null ? null : text.slice(0, 200).replaceAll('\0', '\uFFFD').toWellFormed());

/**
 * Writes one audit record inside the caller's transaction, so that the record and the action's
 * change commit together or not at all. Usable from a Prisma `$transaction` and from raw pg.
 */
export async function recordAudit(tx: AuditTx, entry: AuditEntry): Promise<void> {
  const values = [cut(entry.actor), entry.action, cut(entry.target), entry.status, JSON.stringify(entry.details), cut(entry.requestId), cut(entry.ip)];
  if ('$executeRawUnsafe' in tx) await tx.$executeRawUnsafe(INSERT, ...values);
  else await tx.query(INSERT, values);
}

/** Runs `work` and then records `entry` in one pg transaction on a client of its own. */
export async function inAuditedTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, entry: (result: T) => AuditEntry): Promise<T> {
  return inTransaction(pool, async (client) => {
    const result = await work(client);
    await recordAudit(client, entry(result));
    return result;
  });
}

export interface AuditListQuery {
  actor?: string | undefined;
  action?: string | undefined;
  after?: Date | undefined;
  before?: Date | undefined;
  limit: number;
  /** The id of the previous page's last record. */
  cursor?: bigint | undefined;
}

export function auditView(record: AuditRecord) {
  return {
    id: `${AUDIT_ID_PREFIX}${record.id}`,
    at: record.at.toISOString(),
    actor: record.actor,
    action: record.action,
    target: record.target,
    status: record.status,
    details: record.details,
    requestId: record.requestId,
    ip: record.ip,
  };
}

/** Audit records, newest first, by id: keyset pages on the primary key or the actor/action indexes. */
export async function listAudit(prisma: PrismaClient, query: AuditListQuery): Promise<Page<ReturnType<typeof auditView>, bigint>> {
  const rows = await prisma.auditRecord.findMany({
    where: {
      actor: query.actor,
      action: query.action,
      at: { gt: query.after, lt: query.before },
      id: { lt: query.cursor },
    },
    orderBy: { id: 'desc' },
    take: query.limit + 1,
  });
  return toPage(rows, query.limit, auditView, (row) => row.id);
}
