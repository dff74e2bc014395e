import type { FastifyInstance } from 'fastify';
import type { Database } from '../store/database.js';
import { isDatabaseReady } from '../store/database.js';

export async function healthRoutes(app: FastifyInstance, options: { db: Database }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await isDatabaseReady(options.db.pool);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'database unavailable' });
  });
}
