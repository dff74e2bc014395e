import type { NotificationKind } from '../providers/starpay/notification.js';
import type { FakeStarpayOrder } from '../sandbox/starpay-api.js';
import { drawChaos, type Random } from './random.js';
import { AMOUNT_SPELLINGS, PLAIN_SPELLING, type RequestFields, type Spelling } from './request.js';
import { ENVELOPE_STYLES } from './starpay-envelope.js';

/** A sample of InstaPay reason codes (Starpay doc §9) a failed transfer carries. */
export const INSTAPAY_ERRORS: ReadonlyArray<{ code: string; message: string }> = [
  { code: 'AC04', message: 'Closed Account Number' },
  { code: 'AC01', message: 'Incorrect Account Number' },
  { code: 'AC06', message: 'Blocked Account' },
  { code: 'AB05', message: 'Timeout at Creditor Agent' },
  { code: 'AM02', message: 'Not Allowed Amount' },
  { code: 'AG01', message: 'Transaction Forbidden' },
];

const BENEFICIARIES = ['Juan dela Cruz', 'Maria Clara Santos', 'José Rizal Mercado', 'Ana Niño Reyes'];
const BANKS = ['Sun Savings Bank, Inc.', 'BDO Unibank, Inc.', 'GCash / G-Xchange, Inc.'];
const STORES = ['Tindahan ni Aling Nena', 'Kapihan sa Las Piñas', 'Sari-sari Store 24/7'];

export type FinalState = 'SUCCESS' | 'FAILED';

/** interim: a non-final state before the result; late: one arriving after it (out of order). */
export type Role = 'interim' | 'final' | 'late' | 'forged';

export interface PlannedNotification {
  role: Role;
  fields: RequestFields;
  spelling: Spelling;
  /** Identical copies sent at the same time (Starpay may deliver one notification in parallel). */
  copies: number;
}

export interface OrderPlan {
  provider: 'starpay';
  kind: NotificationKind;
  orderRef: string;
  /** The state the receiver should end with. */
  state: FinalState;
  /** Integer centavos. */
  amount: number;
  currency: 'PHP';
  /** What Starpay's query API answers about the order; null for static-QR, which has no query. */
  truth: FakeStarpayOrder | null;
  /** Its final notification is never sent (`--lose`). */
  lost: boolean;
  /** Sent one after the other, each until acknowledged or given up. */
  notifications: PlannedNotification[];
}

export interface PlanOptions {
  kinds: readonly NotificationKind[];
  orders: number;
  seed: number;
  mchId: string;
  /** Shares of orders, 0..1: notifications sent twice at once, a late non-final state, a forged notification. */
  duplicates: number;
  outOfOrder: number;
  forged: number;
  /** Only trxDate depends on it. */
  now?: Date;
}

/**
 * What a run sends, decided up front from the seed: orders are spread over the kinds in turn;
 * each chaos share picks exactly round(share × orders) orders.
 */
export function planOrders(options: PlanOptions): OrderPlan[] {
  const { random, duplicated, late, forged } = drawChaos(options);
  const now = options.now ?? new Date();

  return Array.from({ length: options.orders }, (_, index) => {
    const kind = options.kinds[index % options.kinds.length] as NotificationKind;
    const { plan, base } = planOrder(random, kind, options.mchId, now);
    if (late.has(index)) plan.notifications.push(notification(random, 'late', { ...base, trxState: pendingState(kind) }));
    if (duplicated.has(index)) for (const n of plan.notifications) n.copies = 2;
    if (forged.has(index)) {
      // An attacker's "paid" for ten times the amount, sent first so that accepting it would show.
      const fields = { ...base, trxState: 'SUCCESS', trxAmount: plan.amount * 10 };
      plan.notifications.unshift(notification(random, 'forged', fields));
    }
    return plan;
  });
}

function planOrder(random: Random, kind: NotificationKind, mchId: string, now: Date): { plan: OrderPlan; base: RequestFields } {
  const amount = random.int(1, 5_000) * 100 + (random.next() < 0.3 ? random.int(1, 99) : 0);
  const failed = kind !== 'static-qr' && random.next() < 0.2; // a static QR is only notified once paid
  const orderRef = kind === 'static-qr' ? random.digits(18) : random.digits(13);
  const base = baseFields(random, kind, { orderRef, amount, mchId, now });
  const notifications: PlannedNotification[] = [];

  if (kind === 'disbursement' && random.next() < 0.3) {
    notifications.push(notification(random, 'interim', { ...base, trxState: 'PROCESSING', trxDate: starpayDate(now, -60) }));
  }
  const final: RequestFields = { ...base, trxState: 'SUCCESS' };
  if (failed) {
    const error = random.pick(INSTAPAY_ERRORS);
    Object.assign(final, { trxState: random.pick(['FAIL', 'FAIL', 'FAILED']), errorCode: error.code, errorMessage: error.message });
  }
  notifications.push(notification(random, 'final', final));
  const state = failed ? 'FAILED' : 'SUCCESS';
  return { plan: { provider: 'starpay', kind, orderRef, state, amount, currency: 'PHP', truth: truthOf(kind, final), lost: false, notifications }, base };
}

/** The final notification's outcome, as the query answers it. */
function truthOf(kind: NotificationKind, final: RequestFields): FakeStarpayOrder | null {
  if (kind === 'static-qr') return null;
  const { trxState, trxAmount, currency, trxDate, errorCode, errorMessage } = final;
  const truth: FakeStarpayOrder = { trxState: String(trxState), trxAmount: Number(trxAmount), currency: String(currency), trxDate: String(trxDate) };
  if (errorCode !== undefined) Object.assign(truth, { errorCode: String(errorCode), errorMessage: String(errorMessage) });
  return truth;
}

/** Field order as in Starpay's samples: 6.5 lists trxDate first; the others start with code and msgId. */
function baseFields(random: Random, kind: NotificationKind, order: { orderRef: string; amount: number; mchId: string; now: Date }): RequestFields {
  const trxDate = starpayDate(order.now, 0);
  if (kind === 'static-qr') {
    return {
      code: '200',
      message: 'success',
      trxDate,
      trxAmount: order.amount,
      trxState: 'SUCCESS',
      originalMsgId: order.orderRef,
      msgId: '',
      mchId: order.mchId,
      currency: 'PHP',
      deviceInfo: `SIM${random.digits(5)}`,
      displayName: random.pick(STORES),
    };
  }
  const fields: RequestFields = {
    code: '200',
    message: 'success',
    msgId: '', // set per notification
    mchId: order.mchId,
    originalMsgId: order.orderRef,
    trxState: 'SUCCESS',
    trxAmount: order.amount,
    currency: 'PHP',
    trxDate,
  };
  if (kind === 'disbursement') Object.assign(fields, { acctName: random.pick(BENEFICIARIES), receivingBank: random.pick(BANKS) });
  return fields;
}

/** Each notification is a message of its own: a fresh msgId (in the base's field position) and its own spelling. */
function notification(random: Random, role: Role, fields: RequestFields): PlannedNotification {
  return { role, fields: { ...fields, msgId: random.digits(16) }, spelling: randomSpelling(random), copies: 1 };
}

/** Mostly Starpay's plain spelling; now and then another one the receiver must accept as well. */
function randomSpelling(random: Random): Spelling {
  return {
    amount: random.next() < 0.6 ? PLAIN_SPELLING.amount : random.pick(AMOUNT_SPELLINGS.slice(1)),
    escapes: random.next() < 0.2,
    envelope: random.next() < 0.6 ? PLAIN_SPELLING.envelope : random.pick(ENVELOPE_STYLES.slice(1)),
  };
}

function pendingState(kind: NotificationKind): string {
  return kind === 'disbursement' ? 'PROCESSING' : 'PENDING';
}

/** `2024-11-25T17:49:51+08:00`: Philippine time, as Starpay writes trxDate. */
export function starpayDate(now: Date, offsetSeconds: number): string {
  const manila = new Date(now.getTime() + offsetSeconds * 1000 + 8 * 3_600_000);
  return `${manila.toISOString().slice(0, 19)}+08:00`;
}
