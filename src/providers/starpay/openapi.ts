import { z } from 'zod';
import { toOpenApiSchema } from '../../plugins/zod-schemas.js';
import type { NotificationKind } from './notification.js';

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

/** How /openapi.json describes Starpay's notify routes. */
export function describeStarpayRoute(kind: string): { summary: string; description: string; body: unknown } {
  return {
    summary: `Starpay ${STARPAY_SECTIONS[kind as NotificationKind]}`,
    description: 'Body: the envelope, a one-element JSON array holding it, or the envelope with `request` as a JSON string.',
    body: toOpenApiSchema(z.union([EnvelopeSchema, z.array(EnvelopeSchema).length(1)]), 'input'),
  };
}
