import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../domain/errors.js';

/**
 * Route schemas are zod schemas: the same object validates the request, checks the reply and,
 * converted by `toOpenApiSchema`, describes the route in /openapi.json.
 */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema }) => {
    const zodSchema = asZod(schema);
    return (data) => {
      const parsed = zodSchema.safeParse(data);
      // Fastify passes an Error result on as is: the error handler answers INVALID_PARAMETER.
      return parsed.success ? { value: parsed.data } : { error: invalidParameter(parsed.error) };
    };
  });
  app.setSerializerCompiler(({ schema }) => {
    const zodSchema = asZod(schema);
    return (data) => JSON.stringify(zodSchema.parse(data));
  });
}

/** A 400 naming the first bad parameter, e.g. `invalid parameter: limit (Too big: …)`. */
export function invalidParameter(error: z.ZodError): AppError {
  const issue = error.issues[0];
  const name = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : (issue?.path.join('.') ?? '') || 'parameter';
  const message = `invalid parameter: ${name}${issue === undefined ? '' : ` (${issue.message})`}`;
  return new AppError('INVALID_PARAMETER', message, message);
}

/** JSON Schema (OpenAPI 3.0 dialect) of a zod schema, as a client sends it or receives it. */
export function toOpenApiSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any', override: ({ jsonSchema }) => declutter(jsonSchema) });
}

/** Drops what zod spells out but a reader gains nothing from: date-time regexes, safe-integer bounds. */
function declutter(jsonSchema: Record<string, unknown>): void {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
}

function asZod(schema: unknown): z.ZodType {
  if (schema instanceof z.ZodType) return schema;
  throw new Error('route schemas must be zod schemas (see src/plugins/zod-schemas.ts)');
}
