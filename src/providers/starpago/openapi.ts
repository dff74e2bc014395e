import { z } from 'zod';
import { toOpenApiSchema } from '../../plugins/zod-schemas.js';

const CallbackSchema = z
  .looseObject({
    merOrderNo: z.string().describe('the order reference'),
    orderStatus: z.number().optional().describe('v2: 2, 3 success; -1, -2, -3 failed; anything else pending'),
    status: z.string().optional().describe('v3: PAID; FAILED, EXPIRED; REFUNDED; anything else pending'),
    sign: z.string().optional().describe('v2 only: lowercase hex SHA-256 of the sorted fields and the app secret'),
    amount: z.union([z.number(), z.string()]).optional().describe('major units of currency'),
    paidAmount: z.union([z.number(), z.string()]).optional().describe('the amount actually paid (v3)'),
    realAmount: z.union([z.number(), z.string()]).optional().describe('the amount actually paid (v2, Bangladesh)'),
    currency: z.string().optional(),
    orderNo: z.string().optional(),
    updateTime: z.number().optional().describe('epoch milliseconds'),
  })
  .describe('a flat object; JSON or application/x-www-form-urlencoded; every other field is kept as received');

/** How /openapi.json describes StarPago's notify routes. */
export function describeStarpagoRoute(kind: string): { summary: string; description: string; body: unknown } {
  return {
    summary: `StarPago ${kind} callback`,
    description:
      'v2 callbacks carry `sign` and are verified with STARPAGO_APP_SECRET. v3 callbacks are unsigned: each is stored as an ' +
      'unverified hint and only StarPago’s query API, asked within seconds, may move the order.',
    body: toOpenApiSchema(CallbackSchema, 'input'),
  };
}
