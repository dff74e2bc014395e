import type { Provider } from '../../domain/provider.js';
import { ErrorBodySchema } from '../../plugins/error-handler.js';
import { toOpenApiSchema } from '../../plugins/zod-schemas.js';

function error(description: string) {
  return toOpenApiSchema(ErrorBodySchema.describe(description), 'output');
}

/**
 * A notify route's description in /openapi.json: the provider describes its body, the replies are
 * the same for every provider. Documentation only: the body stays raw bytes (signatures cover
 * them), so these routes have no schema Fastify would validate against.
 */
export function notifyRouteDocs(provider: Provider, kind: string): Record<string, unknown> {
  const own = provider.describe(kind);
  return {
    tags: ['notifications'],
    summary: own.summary,
    description: `${own.description} The reply is exactly \`${provider.acknowledgement}\` only once the notification is committed; anything else makes the provider resend.`,
    body: own.body,
    response: {
      200: {
        description: 'Read and committed (new, repeated or conflicting)',
        content: { 'text/plain': { schema: { type: 'string', enum: [provider.acknowledgement] } } },
      },
      400: error('Not readable, or the order reference or state is missing (INVALID_ENVELOPE, MISSING_FIELD)'),
      401: error('Signature missing, undecodable or not matching, or the provider is not configured (SIGNATURE_*, PROVIDER_NOT_CONFIGURED)'),
      403: error('Authentic but for another merchant id (MERCHANT_MISMATCH)'),
      413: error('Body over NOTIFY_BODY_LIMIT (BODY_TOO_LARGE)'),
      429: error('Too many requests from this address (RATE_LIMITED)'),
      503: error('Database unavailable or the write failed; the provider retries (DATABASE_UNAVAILABLE)'),
    },
  };
}
