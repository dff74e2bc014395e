import { createHash } from 'node:crypto';
import { normaliseState, type OrderState } from '../domain/order-state.js';

export const NOTIFICATION_KINDS = ['disbursement', 'repayment', 'static-qr'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** The fields the service uses, mapped from a verified `request`; every field stays in `request`. */
export interface Notification {
  kind: NotificationKind;
  orderRef: string;
  msgId: string | null;
  /** msgId when present, else the SHA-256 of the signed text: what makes a repeat a repeat. */
  dedupKey: string;
  rawState: string;
  state: OrderState;
  amount: number | null;
  currency: string | null;
  trxDate: string | null;
  mchId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export class NotificationFieldError extends Error {}

export function toNotification(kind: NotificationKind, request: Record<string, unknown>, signedText: string): Notification {
  const orderRef = request.originalMsgId;
  const rawState = request.trxState;
  if (typeof orderRef !== 'string' || orderRef.trim() === '') {
    throw new NotificationFieldError('originalMsgId is missing or not a string');
  }
  if (typeof rawState !== 'string' || rawState.trim() === '') {
    throw new NotificationFieldError('trxState is missing or not a string');
  }
  // A blank msgId identifies nothing: it would make every notification of the order a repeat.
  const givenMsgId = optionalString(request.msgId);
  const msgId = givenMsgId !== null && givenMsgId.trim() !== '' ? givenMsgId : null;
  return {
    kind,
    orderRef,
    msgId,
    dedupKey: msgId !== null ? `msg:${msgId}` : `sha256:${createHash('sha256').update(signedText, 'utf8').digest('hex')}`,
    rawState,
    state: normaliseState(rawState),
    amount: toCentavos(request.trxAmount),
    currency: optionalString(request.currency),
    trxDate: optionalString(request.trxDate),
    mchId: optionalString(request.mchId),
    errorCode: optionalString(request.errorCode),
    errorMessage: optionalString(request.errorMessage),
  };
}

function optionalString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/**
 * `trxAmount` as integer centavos from a number or a numeric string (`10000`, `"10000.00"`).
 * Anything else (fractional centavos, out of range) is kept only in the raw request.
 */
export function toCentavos(value: unknown): number | null {
  let amount: number;
  if (typeof value === 'number') amount = value;
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) amount = Number(value);
  else return null;
  return Number.isSafeInteger(amount) ? amount : null;
}
