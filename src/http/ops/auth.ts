import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OpsToken, Scope } from '../../auth/ops-tokens.js';
import { AppError } from '../../domain/errors.js';

/** Who is calling: a configured token's name or a signed-in e-mail address, and what they may do. */
export interface Operator {
  actor: string;
  scope: Scope;
  /** SHA-256 of the session token, for a signed-in operator (sign-out revokes it). */
  sessionHash?: Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    operator: Operator | null;
  }
  interface FastifyContextConfig {
    /** The audit log's name of an action route; such a route needs scope `operate`. */
    action?: string;
    /** A route that changes something yet is open to every scope (signing out). */
    anyScope?: boolean;
  }
}

/** Session tokens carry this prefix: only such tokens are looked up in the database. */
export const SESSION_TOKEN_PREFIX = 'ses_';

export interface AuthOptions {
  tokens: readonly OpsToken[];
  /** The live session of a session token's hash, or undefined. */
  findSession(hash: Buffer): Promise<{ email: string; scope: Scope } | undefined>;
}

/**
 * Bearer-token check for every route of the scope it is installed in. The presented token is
 * hashed and compared with every configured hash in constant time, none skipped, so the time
 * taken says nothing about which token, or how much of one, matched. Session tokens are found by
 * their hash: a lookup by SHA-256 of a 256-bit random value leaks nothing usable.
 */
export function requireBearerToken(app: FastifyInstance, options: AuthOptions): void {
  const configured = options.tokens.map((token) => ({ token, hash: Buffer.from(token.sha256, 'hex') }));
  app.decorateRequest('operator', null);
  app.addHook('onRequest', async (request) => {
    request.operator = await authenticate(request, configured, options);
    if (request.operator === null) throw new AppError('UNAUTHORIZED');
  });
}

async function authenticate(request: FastifyRequest, configured: readonly { token: OpsToken; hash: Buffer }[], options: AuthOptions): Promise<Operator | null> {
  const match = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '');
  if (match?.[1] === undefined) return null;
  const presented = digest(match[1]);
  let found: OpsToken | undefined;
  for (const { token, hash } of configured) {
    if (timingSafeEqual(presented, hash)) found ??= token;
  }
  if (found !== undefined) return { actor: found.name, scope: found.scope };
  if (!match[1].startsWith(SESSION_TOKEN_PREFIX)) return null;
  const session = await options.findSession(presented);
  return session === undefined ? null : { actor: session.email, scope: session.scope, sessionHash: presented };
}

const READS = new Set(['GET', 'HEAD']);

/**
 * Actions need scope `operate`: a `read` bearer is refused before the body is even validated.
 * Every route that is not a read counts as an action unless it says otherwise, so a new action
 * route is closed to `read` even before it is given its audit name.
 */
export function requireOperateScopeForActions(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const config = request.routeOptions.config;
    const acts = config.action !== undefined || (!READS.has(request.method) && config.anyScope !== true && !request.is404);
    if (acts && request.operator?.scope !== 'operate') throw new AppError('FORBIDDEN_SCOPE');
  });
}

export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
