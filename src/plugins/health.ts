import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Database } from '../store/database.js';
import { isDatabaseReady } from '../store/database.js';

const StatusSchema = z.object({ status: z.string() });

export async function healthRoutes(app: FastifyInstance, options: { db: Database }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness: 200 while the process runs', response: { 200: StatusSchema } } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: 200 when the database answers, else 503',
        response: { 200: StatusSchema.describe('ready'), 503: StatusSchema.describe('database unavailable') },
      },
    },
    async (_request, reply) => {
      const ready = await isDatabaseReady(options.db.pool);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'database unavailable' });
    },
  );
}
