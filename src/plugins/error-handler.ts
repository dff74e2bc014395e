import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, ERRORS, type ErrorCode } from '../domain/errors.js';

/** The one error body, as /openapi.json describes it. */
export const ErrorBodySchema = z.object({ code: z.string(), message: z.string(), requestId: z.string() });

/** Fastify's own error codes that have a name in our catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

/** One error body for every route: `{ code, message, requestId }`. Never `SUCCESS`. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
  app.setNotFoundHandler(notFoundHandler);
}

/** Answers an error with its catalogue status and the one error body. */
export function sendError(error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const code = errorCodeOf(error);
  // Route schemas are zod (src/plugins/zod-schemas.ts), whose failures arrive as AppErrors with
  // their own public message; any other error's message is internal and stays in the log.
  const message = (error instanceof AppError ? error.publicMessage : undefined) ?? ERRORS[code].message;
  const status = ERRORS[code].status;
  if (status >= 500) request.log.error({ err: error, code }, 'request failed');
  else if (!(error instanceof AppError)) request.log.info({ code, reason: error.message }, 'request refused');
  if (code === 'RATE_LIMITED' && 'headers' in error) reply.headers(error.headers as Record<string, string>);
  return reply.code(status).type('application/json').send({ code, message, requestId: request.id });
}

/** The 404 body of an unknown path; a scope with its own hooks (/ops) registers the same handler. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).type('application/json').send({ code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message, requestId: request.id });
}

/** The catalogue code an error is answered with. */
export function errorCodeOf(error: FastifyError | AppError): ErrorCode {
  if (error instanceof AppError) return error.code;
  if (error.statusCode === undefined && isDatabaseFailure(error)) return 'DATABASE_UNAVAILABLE';
  return FASTIFY_CODES[error.code] ?? fromStatus(error.statusCode);
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * The database failing under a query (Prisma or pg errors, a refused or broken connection): a
 * 503 that says "try again", not a 500 that says "our bug".
 */
function isDatabaseFailure(error: Error & { code?: unknown; severity?: unknown }): boolean {
  if (error.name.startsWith('PrismaClient') || error.name === 'DriverAdapterError') return true;
  if (typeof error.severity === 'string') return true; // a PostgreSQL error reply
  if (typeof error.code === 'string' && CONNECTION_ERRORS.has(error.code)) return true;
  return /connection terminated|timeout exceeded when trying to connect/i.test(error.message);
}

function fromStatus(status: number | undefined): ErrorCode {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'BODY_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'DATABASE_UNAVAILABLE';
    default:
      return 'INTERNAL';
  }
}
