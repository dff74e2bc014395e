import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Provider } from '../../domain/provider.js';
import { OPS_SECURITY, errorReplies } from './schemas.js';

const ProviderInfoSchema = z.object({
  name: z.string().describe('the path segment of its notify URLs and the first part of its event types'),
  configured: z.boolean().describe('false: its notifications are refused (401) until its keys or secret are set'),
  kinds: z.array(
    z.object({
      kind: z.string(),
      queryable: z.boolean().describe('whether orders of this kind are asked about (reconciliation, POST …/reconcile)'),
    }),
  ),
});

/** GET /ops/providers: the providers and order kinds this service serves, for the console's filters. */
export async function providerRoutes(app: FastifyInstance, options: { providers: readonly Provider[] }): Promise<void> {
  const items = options.providers.map((provider) => ({
    name: provider.name,
    configured: provider.configured,
    kinds: provider.kinds.map((kind) => ({ kind, queryable: provider.query !== undefined && provider.isQueryable(kind) })),
  }));
  app.get(
    '/providers',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'The providers and order kinds served, and which are configured and queryable',
        response: { 200: z.object({ items: z.array(ProviderInfoSchema) }), ...errorReplies(401, 429) },
      },
    },
    async () => ({ items }),
  );
}
