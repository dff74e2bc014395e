import type { KeyObject } from 'node:crypto';
import { signedEnvelope } from '../../src/simulator/starpay-envelope.js';

let sequence = 0;

/** A realistic request; unique references unless overridden. */
export function requestFields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return {
    code: '200',
    message: 'success',
    msgId: `${Date.now()}${String(sequence).padStart(4, '0')}`,
    mchId: '101510000001',
    originalMsgId: `2024112511006${String(sequence).padStart(5, '0')}`,
    trxState: 'SUCCESS',
    trxAmount: 10000,
    currency: 'PHP',
    trxDate: '2024-11-25T17:49:51+08:00',
    ...overrides,
  };
}

/** The fields as compact JSON, signed and embedded byte for byte, as Starpay sends them. */
export function signedBody(fields: Record<string, unknown>, privateKey: KeyObject): string {
  return signedEnvelope(JSON.stringify(fields), privateKey);
}
