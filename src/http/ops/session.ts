import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SCOPES } from '../../auth/ops-tokens.js';
import type { Database } from '../../store/database.js';
import { revokeSession } from '../../store/sessions.js';
import { OPS_SECURITY, errorReplies } from './schemas.js';

const WhoAmISchema = z.object({
  actor: z.string().describe('the token name, or the e-mail address of a signed-in operator'),
  scope: z.enum(SCOPES),
  session: z.boolean().describe('signed in through single sign-on (sign-out revokes the token)'),
});

/** Who the bearer is (the console shows it and hides what a `read` bearer cannot do), and sign-out. */
export async function sessionRoutes(app: FastifyInstance, options: { db: Database }): Promise<void> {
  app.get(
    '/session',
    {
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Who the bearer token belongs to, and its scope',
        response: { 200: WhoAmISchema, ...errorReplies(401, 429) },
      },
    },
    async (request) => {
      const operator = request.operator as NonNullable<typeof request.operator>;
      return { actor: operator.actor, scope: operator.scope, session: operator.sessionHash !== undefined };
    },
  );

  app.post(
    '/session/sign-out',
    {
      config: { anyScope: true },
      schema: {
        tags: ['ops'],
        security: OPS_SECURITY,
        summary: 'Revoke the session token of this request',
        description: 'Takes no body. A configured token (not a session) is not revoked: remove it from OPS_TOKENS instead.',
        response: { 204: z.null().describe('Signed out'), ...errorReplies(401, 429) },
      },
    },
    async (request, reply) => {
      const hash = request.operator?.sessionHash;
      if (hash !== undefined) await revokeSession(options.db.prisma, hash);
      return reply.code(204).send();
    },
  );
}
