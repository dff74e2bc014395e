import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DestinationRef } from '../../domain/destination-id.js';
import { AppError } from '../../domain/errors.js';
import type { Database } from '../../store/database.js';
import { describeDestinations, retryDeadDeliveries, setPaused } from '../../store/destinations.js';
import { withAudit } from './audit.js';
import { OPS_SECURITY, DestinationSchema, errorReplies, type Catalogue } from './schemas.js';

const DestinationParamsSchema = z.object({ id: z.string().describe('dst_…') });

export const bulkRetryBodySchema = (catalogue: Catalogue) =>
  z.strictObject({
    destination: z.string().describe('dst_…'),
    createdAfter: z.iso.datetime({ offset: true }).optional().describe('deliveries created at or after this instant'),
    createdBefore: z.iso.datetime({ offset: true }).optional().describe('deliveries created before this instant'),
    provider: catalogue.provider.optional(),
    kind: catalogue.kind.optional(),
  });

export interface DestinationRoutesOptions {
  db: Database;
  /** The configured destinations. */
  destinations: readonly DestinationRef[];
  catalogue: Catalogue;
}

/**
 * Destination health (GET), pause and resume, and the bulk retry of dead deliveries. Each action
 * writes its audit record in the transaction of its change (a refusal's is written on the error
 * path).
 */
export async function destinationRoutes(app: FastifyInstance, options: DestinationRoutesOptions): Promise<void> {
  const { db, destinations } = options;
  const byId = new Map(destinations.map((destination) => [destination.id, destination]));
  const find = (id: string): DestinationRef => {
    const destination = byId.get(id);
    if (destination === undefined) throw new AppError('NOT_FOUND', `no configured destination ${id}`, 'No such destination.');
    return destination;
  };
  const view = async (destination: DestinationRef) => (await describeDestinations(db.pool, [destination]))[0];

  app.get(
    '/destinations',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Every configured destination: its state, backlog and circuit breaker',
        response: { 200: z.object({ items: z.array(DestinationSchema) }), ...errorReplies(401, 429) },
      },
    },
    async () => ({ items: await describeDestinations(db.pool, destinations) }),
  );

  const pauseOrResume = (paused: boolean) => async (request: FastifyRequest<{ Params: z.output<typeof DestinationParamsSchema> }>) => {
    const destination = find(request.params.id);
    await withAudit(request, 200, (audit) => setPaused(db.pool, destination, paused, audit));
    request.log.info(
      { action: paused ? 'destination.pause' : 'destination.resume', destination: destination.id },
      paused ? 'destination paused' : 'destination resumed',
    );
    return { destination: await view(destination) };
  };

  app.post(
    '/destinations/:id/pause',
    {
      config: { action: 'destination.pause' },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Pause a destination: nothing is attempted until it is resumed, and nothing dies',
        params: DestinationParamsSchema,
        response: { 200: z.object({ destination: DestinationSchema }), ...errorReplies(401, 403, 404, 429) },
      },
    },
    pauseOrResume(true),
  );

  app.post(
    '/destinations/:id/resume',
    {
      config: { action: 'destination.resume' },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Resume a destination: its pending deliveries are due now',
        params: DestinationParamsSchema,
        response: { 200: z.object({ destination: DestinationSchema }), ...errorReplies(401, 403, 404, 429) },
      },
    },
    pauseOrResume(false),
  );

  const BulkRetryBodySchema = bulkRetryBodySchema(options.catalogue);
  app.post<{ Body: z.output<typeof BulkRetryBodySchema> }>(
    '/deliveries/retry',
    {
      config: { action: 'deliveries.retry' },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Retry the dead deliveries of a destination, by creation window, provider and kind',
        description:
          'Every matching dead delivery becomes pending and due now, in event order, a batch at a time. ' +
          'Running it again matches only what is still dead. 404 for a destination that is not configured.',
        body: BulkRetryBodySchema,
        response: {
          202: z.object({ matched: z.number().int().describe('dead deliveries made pending') }),
          ...errorReplies(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const { destination: id, createdAfter, createdBefore, provider, kind } = request.body;
      const destination = find(id);
      const filter = {
        url: destination.url,
        createdAfter: createdAfter === undefined ? undefined : new Date(createdAfter),
        createdBefore: createdBefore === undefined ? undefined : new Date(createdBefore),
        provider,
        kind,
      };
      const matched = await withAudit(request, 202, (audit) => retryDeadDeliveries(db.pool, filter, audit));
      request.log.info(
        { action: 'deliveries.retry', destination: destination.id, createdAfter, createdBefore, provider, kind, matched },
        'dead deliveries retried',
      );
      return reply.code(202).send({ matched });
    },
  );
}
