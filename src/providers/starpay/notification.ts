import { createHash } from 'node:crypto';
import type { OrderState } from '../../domain/order-state.js';
import type { Notification, StateReport } from '../../domain/provider.js';

export const NOTIFICATION_KINDS = ['disbursement', 'repayment', 'static-qr'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** A Starpay notification: the port's fields plus the merchant id it names. */
export interface StarpayNotification extends Notification {
  mchId: string | null;
}

const FAILED_SPELLINGS = new Set(['FAIL', 'FAILED', 'FAILURE']);

/**
 * Starpay's `trxState` mapped onto the order's state, spelled exactly: anything else (another
 * case included) is not final, since acting on a guess could move money's state for good.
 */
export function normaliseTrxState(trxState: string): OrderState {
  if (trxState === 'SUCCESS') return 'SUCCESS';
  if (FAILED_SPELLINGS.has(trxState)) return 'FAILED';
  return 'PENDING';
}

export class NotificationFieldError extends Error {}

/** The report fields of a Starpay `request` (a notification's or a query answer's `response`). */
export function toStateReport(kind: string, fields: Record<string, unknown>): StateReport {
  const orderRef = fields.originalMsgId;
  const rawState = fields.trxState;
  if (typeof orderRef !== 'string' || orderRef.trim() === '') {
    throw new NotificationFieldError('originalMsgId is missing or not a string');
  }
  if (typeof rawState !== 'string' || rawState.trim() === '') {
    throw new NotificationFieldError('trxState is missing or not a string');
  }
  return {
    provider: 'starpay',
    kind,
    orderRef,
    rawState,
    state: normaliseTrxState(rawState),
    amount: toCentavos(fields.trxAmount),
    paidAmount: null,
    currency: optionalString(fields.currency),
    trxDate: optionalString(fields.trxDate),
    errorCode: optionalString(fields.errorCode),
    errorMessage: optionalString(fields.errorMessage),
  };
}

export function toNotification(
  kind: NotificationKind,
  request: Record<string, unknown>,
  signedText: string,
  signature: string | null = null,
): StarpayNotification {
  const report = toStateReport(kind, request);
  // A blank msgId identifies nothing: it would make every notification of the order a repeat.
  const givenMsgId = optionalString(request.msgId);
  const msgId = givenMsgId !== null && givenMsgId.trim() !== '' ? givenMsgId : null;
  return {
    ...report,
    msgId,
    dedupKey: msgId !== null ? `msg:${msgId}` : `sha256:${createHash('sha256').update(signedText, 'utf8').digest('hex')}`,
    status: 'accepted',
    request,
    signedText,
    signature,
    mchId: optionalString(request.mchId),
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
