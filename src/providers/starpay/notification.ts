import { createHash } from 'node:crypto';
import { decimalToMinorUnits, isAbsentAmount, isMoneyValue } from '../../domain/amount.js';
import type { ErrorCode } from '../../domain/errors.js';
import { fieldText } from '../../domain/field-text.js';
import { isOrderRef, ORDER_REF_RULE } from '../../domain/order-ref.js';
import type { OrderState } from '../../domain/order-state.js';
import { EnvelopeError, memberText } from './envelope.js';
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

/** A field the notification lacks (MISSING_FIELD) or holds in a form it may not have (INVALID_FIELD). */
export class NotificationFieldError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'MISSING_FIELD' | 'INVALID_FIELD'>,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The report fields of a Starpay `request` (a notification's or a query answer's `response`);
 * `signedText` is its exact text, where a numeric `trxAmount` is read from its digits.
 */
export function toStateReport(kind: string, fields: Record<string, unknown>, signedText: string): StateReport {
  const orderRef = fields.originalMsgId;
  const rawState = fields.trxState;
  if (typeof orderRef !== 'string' || orderRef.trim() === '') {
    throw new NotificationFieldError('MISSING_FIELD', 'originalMsgId is missing or not a string');
  }
  if (!isOrderRef(orderRef)) throw new NotificationFieldError('INVALID_FIELD', `originalMsgId must be ${ORDER_REF_RULE}`);
  if (typeof rawState !== 'string' || rawState.trim() === '') {
    throw new NotificationFieldError('MISSING_FIELD', 'trxState is missing or not a string');
  }
  if (!isMoneyValue(fields.trxAmount)) throw new NotificationFieldError('INVALID_FIELD', 'trxAmount is not a number or a numeric string');
  return {
    provider: 'starpay',
    kind,
    orderRef,
    rawState,
    state: normaliseTrxState(rawState),
    amount: toCentavos(fields.trxAmount, signedText),
    paidAmount: null,
    currency: fieldText(fields.currency),
    trxDate: fieldText(fields.trxDate),
    errorCode: fieldText(fields.errorCode),
    errorMessage: fieldText(fields.errorMessage),
  };
}

export function toNotification(
  kind: NotificationKind,
  request: Record<string, unknown>,
  signedText: string,
  signature: string | null = null,
): StarpayNotification {
  const report = toStateReport(kind, request, signedText);
  // A blank msgId identifies nothing: it would make every notification of the order a repeat.
  const givenMsgId = fieldText(request.msgId);
  const msgId = givenMsgId !== null && givenMsgId.trim() !== '' ? givenMsgId : null;
  return {
    ...report,
    msgId,
    dedupKey: msgId === null ? `sha256:${sha256(signedText)}` : msgId.length <= MSG_ID_KEY_MAX ? `msg:${msgId}` : `msg-sha256:${sha256(msgId)}`,
    status: 'accepted',
    request,
    signedText,
    signature,
    mchId: fieldText(request.mchId),
  };
}

/**
 * A msgId longer than this enters the identity as its hash: a unique index holds at most ~2.7 kB a
 * row, and a longer key would fail every resend of an authentic notification with a 503.
 */
const MSG_ID_KEY_MAX = 200;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * `trxAmount` as integer centavos from its decimal text (`10000`, `"10000.00"`): a number is read
 * from the digits that were signed, never from the float JSON.parse made of them, so
 * `100.9999999999999999` is not 101. A negative or fractional centavo value gives null; the raw
 * value stays in the request.
 */
export function toCentavos(value: unknown, signedText: string): number | null {
  if (isAbsentAmount(value)) return null;
  if (typeof value === 'string') return decimalToMinorUnits(value, 0);
  if (typeof value !== 'number') return null;
  let digits: string | undefined;
  try {
    digits = memberText(signedText, 'trxAmount');
  } catch (error) {
    // A repeated member: which copy was meant would be the parser's guess.
    if (error instanceof EnvelopeError) throw new NotificationFieldError('INVALID_FIELD', error.message);
    throw error;
  }
  return decimalToMinorUnits(digits ?? String(value), 0);
}
