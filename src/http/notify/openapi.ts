import { z } from 'zod';
import type { NotificationKind } from '../../starpay/notification.js';
import { ErrorBodySchema } from '../../plugins/error-handler.js';
import { toOpenApiSchema } from '../../plugins/zod-schemas.js';

const STARPAY_SECTIONS: Record<NotificationKind, string> = {
  disbursement: '5.5 Disbursement State Notification',
  repayment: '6.3 Repayment State Notification',
  'static-qr': '6.5 Repayment Static QR Order Notify',
};

const RequestSchema = z
  .looseObject({
    originalMsgId: z.string().describe('the order reference'),
    trxState: z.string().describe('SUCCESS; FAIL, FAILED or FAILURE; anything else is pending'),
    msgId: z.string().optional().describe("the notification's own message id"),
    trxAmount: z.union([z.number(), z.string()]).optional().describe('integer centavos, number or numeric string'),
    currency: z.string().optional(),
    trxDate: z.string().optional(),
    mchId: z.string().optional(),
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
  })
  .describe('every other field is kept as received');

const EnvelopeSchema = z.object({
  request: z.union([RequestSchema, z.string().describe('the same object as a JSON string')]),
  signature: z.string().describe('base64 SHA256withRSA over the UTF-8 bytes of `request` exactly as sent'),
});

function error(description: string) {
  return toOpenApiSchema(ErrorBodySchema.describe(description), 'output');
}

/**
 * The notify routes' description in /openapi.json. Documentation only: the body stays raw bytes
 * (the signature covers them), so these routes have no schema Fastify would validate against.
 */
export function notifyRouteDocs(kind: NotificationKind): Record<string, unknown> {
  return {
    tags: ['starpay'],
    summary: `Starpay ${STARPAY_SECTIONS[kind]}`,
    description:
      'Body: the envelope, a one-element JSON array holding it, or the envelope with `request` as a JSON string. ' +
      'The reply is exactly `SUCCESS` only once the notification is committed; anything else makes Starpay resend.',
    body: toOpenApiSchema(z.union([EnvelopeSchema, z.array(EnvelopeSchema).length(1)]), 'input'),
    response: {
      200: {
        description: 'Authentic and committed (new, repeated or conflicting)',
        content: { 'text/plain': { schema: { type: 'string', enum: ['SUCCESS'] } } },
      },
      400: error('Not JSON, not an envelope, or originalMsgId/trxState missing (INVALID_ENVELOPE, MISSING_FIELD)'),
      401: error('Signature missing, undecodable or matching no key (SIGNATURE_MISSING, SIGNATURE_UNDECODABLE, SIGNATURE_INVALID)'),
      403: error('Authentic but for another merchant id (MERCHANT_MISMATCH)'),
      413: error('Body over NOTIFY_BODY_LIMIT (BODY_TOO_LARGE)'),
      429: error('Too many requests from this address (RATE_LIMITED)'),
      503: error('Database unavailable or the write failed; Starpay retries (DATABASE_UNAVAILABLE)'),
    },
  };
}
