import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';

/**
 * Bearer-token check for every route of the scope it is installed in. Both sides are hashed first,
 * so the comparison takes the same time whatever the token's length or content.
 */
export function requireBearerToken(app: FastifyInstance, token: string | undefined): void {
  const expected = token === undefined ? undefined : digest(token);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    const presented = digest(match?.[1] ?? '');
    const ok = expected !== undefined && timingSafeEqual(presented, expected) && match !== null;
    if (!ok) throw new AppError('UNAUTHORIZED');
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
