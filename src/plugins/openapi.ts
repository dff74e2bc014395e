import { readFileSync } from 'node:fs';
import swagger, { type SwaggerTransform } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { toOpenApiSchema } from './zod-schemas.js';

/**
 * /openapi.json and /docs, built from the routes' own zod schemas. Registered on the root app
 * before any route, so that it sees every route. Swagger UI's assets ship with the package:
 * /docs needs no network.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Payment notification receiver',
        version: VERSION,
        description:
          'Receives Starpay and StarPago notifications, keeps order state, asks the providers when a notification does not come, and forwards state changes to webhooks and message brokers.',
      },
      tags: [
        { name: 'notifications', description: 'Endpoints the payment providers post their notifications to' },
        { name: 'ops', description: 'Orders, notifications and deliveries (bearer token)' },
        { name: 'operations', description: 'Health, readiness and metrics' },
      ],
      components: { securitySchemes: { opsToken: { type: 'http', scheme: 'bearer', description: 'OPS_API_TOKEN' } } },
    },
    transform: zodToJsonSchema,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

/**
 * Swagger UI from the service's own origin only, like the console's policy; it sets element
 * styles inline, which its style-src allows (no inline script is allowed anywhere).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// package.json is two levels up from both src/plugins and dist/plugins.
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const REQUEST_PARTS = ['querystring', 'params', 'body', 'headers'] as const;

/** Route schemas are zod (src/plugins/zod-schemas.ts); the document wants JSON Schema. */
const zodToJsonSchema: SwaggerTransform = ({ schema, url }) => {
  if (schema === undefined) return { schema, url };
  const converted: Record<string, unknown> = { ...schema };
  for (const part of REQUEST_PARTS) {
    const value = converted[part];
    if (value instanceof z.ZodType) converted[part] = toOpenApiSchema(value, 'input');
  }
  if (schema.response !== undefined) {
    converted.response = Object.fromEntries(
      Object.entries(schema.response as Record<string, unknown>).map(([status, value]) => [
        status,
        value instanceof z.ZodType ? toOpenApiSchema(value, 'output') : value,
      ]),
    );
  }
  return { schema: converted, url };
};

/**
 * Route config for a route described in /openapi.json but given no Fastify schema, because its
 * request or reply is not JSON (the raw notify body, the Prometheus text).
 */
export function documentedAs(schema: Record<string, unknown>): { swaggerTransform: SwaggerTransform } {
  return { swaggerTransform: ({ url }) => ({ schema, url }) };
}
