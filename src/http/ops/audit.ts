import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, ERRORS } from '../../domain/errors.js';
import { errorCodeOf, sendError } from '../../plugins/error-handler.js';
import { AUDIT_ACTIONS, listAudit, type AuditAction, type AuditContext } from '../../store/audit.js';
import type { Database } from '../../store/database.js';
import { recordAudit, type AuditEntryOf } from '../../store/audit.js';
import { IdKeySchema, LimitSchema, cursorSchema, encodeCursor } from './pagination.js';
import { OPS_SECURITY, errorReplies, pageSchema } from './schemas.js';

const audited = new WeakSet<FastifyRequest>();

/** What an action acts on: a delivery or destination id, an order, a bulk retry's destination. */
function targetOf(request: FastifyRequest): string | null {
  const params = (request.params ?? {}) as Record<string, unknown>;
  if (typeof params.kind === 'string' && typeof params.orderRef === 'string') return `${params.kind}/${params.orderRef}`;
  if (typeof params.id === 'string') return params.id;
  const body = request.body as Record<string, unknown> | undefined;
  if (typeof body === 'object' && body !== null && typeof body.destination === 'string') return body.destination;
  return null;
}

/** The audit context of the action route a request is on (its route config names the action). */
export function auditContext(request: FastifyRequest): AuditContext {
  const action = request.routeOptions.config.action as AuditAction | undefined;
  if (action === undefined || request.operator === null) throw new Error('auditContext() outside an authenticated action route');
  return { actor: request.operator.actor, action, target: targetOf(request), requestId: request.id, ip: request.ip };
}

/**
 * Runs an action's store call with the record it writes in its own transaction (with the status
 * the route answers and what changed). When the call returns having written it, the action is
 * audited; otherwise (nothing done, or a rollback) the error path writes the refusal's record.
 */
export async function withAudit<T>(request: FastifyRequest, status: number, run: (entry: AuditEntryOf) => Promise<T>): Promise<T> {
  const context = auditContext(request);
  let written = false;
  const result = await run((details, answered = status) => {
    written = true;
    return { ...context, status: answered, details };
  });
  if (written) audited.add(request);
  return result;
}

/**
 * Refused and failed actions are audited too: before an action route's error is answered, one
 * record with the status about to be sent (nothing changed, so it has no transaction to join). If
 * that write fails, the error becomes the write's (503): no action goes unrecorded.
 */
export function auditRefusedActions(app: FastifyInstance, db: Database): void {
  app.setErrorHandler(async (error: FastifyError | AppError, request, reply) => {
    const action = request.routeOptions.config.action;
    if (action !== undefined && request.operator !== null && !audited.has(request)) {
      audited.add(request);
      const code = errorCodeOf(error);
      await db.prisma.$transaction((tx) => recordAudit(tx, { ...auditContext(request), status: ERRORS[code].status, details: { error: code } }));
    }
    return sendError(error, request, reply);
  });
}

const AuditRecordSchema = z.object({
  id: z.string().describe('aud_<number>'),
  at: z.iso.datetime(),
  actor: z.string().describe('the token name, or the e-mail address of a signed-in operator'),
  action: z.enum(AUDIT_ACTIONS),
  target: z.string().nullable().describe('the delivery, order (kind/orderRef) or destination acted on'),
  status: z.number().int().describe('the HTTP status answered'),
  details: z.unknown().describe('what changed, or the error code of a refusal'),
  requestId: z.string().nullable(),
  ip: z.string().nullable(),
});

const instant = z.iso
  .datetime({ offset: true })
  .transform((text) => new Date(text))
  .describe('ISO 8601 date-time with Z or an offset');

export const AuditListQuerySchema = z.strictObject({
  actor: z.string().min(1).max(200).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  after: instant.optional().describe('records strictly after this instant'),
  before: instant.optional().describe('records strictly before this instant'),
  limit: LimitSchema,
  cursor: cursorSchema(z.object({ i: IdKeySchema }).transform((key) => key.i)).optional(),
});

export async function auditRoutes(app: FastifyInstance, options: { db: Database }): Promise<void> {
  app.get<{ Querystring: z.output<typeof AuditListQuerySchema> }>(
    '/audit',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'The audit log of actions and sign-ins, newest first',
        querystring: AuditListQuerySchema,
        response: { 200: pageSchema(AuditRecordSchema), ...errorReplies(400, 401, 429) },
      },
    },
    async (request) => {
      const page = await listAudit(options.db.prisma, request.query);
      return { items: page.items, nextCursor: page.next === null ? null : encodeCursor({ i: String(page.next) }) };
    },
  );
}
