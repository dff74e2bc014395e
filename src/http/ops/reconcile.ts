import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../domain/errors.js';
import type { Provider } from '../../domain/provider.js';
import type { Reconciler } from '../../jobs/reconcile.js';
import { providerOfKind } from '../../providers/index.js';
import type { Database } from '../../store/database.js';
import type { IngestTargets } from '../../store/ingest.js';
import { findOrder, registerExpectedOrder } from '../../store/orders.js';
import { withAudit } from './audit.js';
import { OPS_SECURITY, OrderSchema, errorReplies, OrderRefSchema, type Catalogue } from './schemas.js';

const orderPathSchema = (catalogue: Catalogue) => z.object({ kind: catalogue.kind, orderRef: OrderRefSchema });

const ExpectedOrderSchema = z.strictObject({
  amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('the amount the merchant expects, in minor units'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .describe('ISO 4217 code, e.g. PHP'),
});

const ReconcileReplySchema = z.object({
  order: OrderSchema.nullable(),
  query: z.object({
    outcome: z.enum(['created', 'changed', 'unchanged', 'conflict', 'not_found']),
    providerState: z.string().nullable().describe("the provider's raw state in its answer"),
  }),
});

export interface ReconcileRoutesOptions {
  db: Database;
  providers: readonly Provider[];
  reconciler: Reconciler;
  targetsFor: (provider: Provider, kind: string) => IngestTargets;
  catalogue: Catalogue;
}

/** Asking a provider about one order now, and registering the orders a merchant expects. */
export async function reconcileRoutes(app: FastifyInstance, options: ReconcileRoutesOptions): Promise<void> {
  const { db, providers, reconciler } = options;
  const OrderPathSchema = orderPathSchema(options.catalogue);

  app.post<{ Params: z.output<typeof OrderPathSchema> }>(
    '/orders/:kind/:orderRef/reconcile',
    {
      config: { action: 'order.reconcile' },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: "Ask the order's provider now, known order or not, and apply its answer",
        description:
          'The answer moves the order through the same state rule as a notification (source `query`). ' +
          '502 PROVIDER_UNAVAILABLE when the provider could not be asked, said to try later, or answered unverifiably; ' +
          '409 NOT_QUERYABLE for static-QR orders or a provider with no query API configured.',
        params: OrderPathSchema,
        response: { 200: ReconcileReplySchema, ...errorReplies(400, 401, 403, 409, 429, 502) },
      },
    },
    async (request) => {
      const { kind, orderRef } = request.params;
      const provider = providerOfKind(providers, kind);
      if (provider?.query === undefined || !provider.isQueryable(kind)) {
        throw new AppError('NOT_QUERYABLE', `${kind} orders cannot be queried here`);
      }
      const result = await withAudit(request, 200, (audit) => reconciler.askNow(provider, kind, orderRef, audit));
      if (result === 'busy')
        throw new AppError('PROVIDER_UNAVAILABLE', 'a query of this order is in flight', 'A query of this order is already in flight; try again shortly.');
      if ('detail' in result) throw new AppError('PROVIDER_UNAVAILABLE', result.detail);
      request.log.info({ kind, orderRef, outcome: result.outcome }, 'order reconciled on request');
      return { order: (await findOrder(db.prisma, kind, orderRef)) ?? null, query: { outcome: result.outcome, providerState: result.providerState } };
    },
  );

  app.put<{ Params: z.output<typeof OrderPathSchema>; Body: z.output<typeof ExpectedOrderSchema> }>(
    '/orders/:kind/:orderRef',
    {
      config: { action: 'order.register' },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Register an order the merchant created, before any notification',
        description:
          'Creates the order PENDING with its expected amount (201), or sets the expected amount of an existing order (200). ' +
          'The order then enters the reconciliation schedule even if no notification ever arrives.',
        params: OrderPathSchema,
        body: ExpectedOrderSchema,
        response: {
          200: z.object({ order: OrderSchema }).describe('The order existed; its expected amount is set'),
          201: z.object({ order: OrderSchema }).describe('Registered'),
          ...errorReplies(400, 401, 403, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const { kind, orderRef } = request.params;
      const provider = providerOfKind(providers, kind) as Provider;
      const { firstQueryAfterMs } = options.targetsFor(provider, kind);
      const expected = { provider: provider.name, kind, orderRef, amount: request.body.amount, currency: request.body.currency, firstQueryAfterMs };
      const registered = await withAudit(request, 200, (audit) => registerExpectedOrder(db.prisma, expected, audit));
      if (registered === 'currency-mismatch') throw new AppError('CURRENCY_MISMATCH', `${kind}/${orderRef} is not in ${request.body.currency}`);
      const { order, created } = registered;
      request.log.info({ kind, orderRef, created }, 'expected order registered');
      return reply.code(created ? 201 : 200).send({ order });
    },
  );
}
