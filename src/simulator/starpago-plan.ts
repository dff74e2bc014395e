import { code } from 'currency-codes';
import type { StarpagoKind } from '../providers/starpago/client.js';
import type { FinalState, Role } from './plan.js';
import { drawChaos, type Random } from './random.js';

export const SIMULATED_STARPAGO_KINDS = ['payin', 'payout'] as const satisfies readonly StarpagoKind[];

/** v2 callbacks are signed with the app secret; v3 callbacks carry no signature at all. */
export type StarpagoGeneration = 'v2' | 'v3';

/** StarPago markets with two decimals and with none, so that both conversions to minor units are exercised. */
export const STARPAGO_CURRENCIES: readonly string[] = ['PHP', 'THB', 'IDR', 'VND', 'KRW'];

const ATTACHES = ['order from the checkout', 'topup', 'cashout to wallet', 'Niño Reyes'];
const PAY_METHODS = ['GCASH', 'PAYMAYA', 'QRPH', 'BANK_TRANSFER'];
const FAILURES = ['Account does not exist', 'Channel timeout', 'Payer cancelled', 'Insufficient balance'];

export type StarpagoFields = Record<string, string | number>;

export interface StarpagoNotificationPlan {
  role: Role;
  /** The callback's fields as posted, without `sign`. */
  fields: StarpagoFields;
  /** v2: `sign` is added when sending (a forgery's with a wrong secret); v3: none. */
  signed: boolean;
  /** Sent as `application/x-www-form-urlencoded` instead of JSON. */
  form: boolean;
  /** Identical copies sent at the same time. */
  copies: number;
}

export interface StarpagoOrderPlan {
  provider: 'starpago';
  generation: StarpagoGeneration;
  kind: StarpagoKind;
  /** `merOrderNo`. */
  orderRef: string;
  /** The state the service should end with. */
  state: FinalState;
  /** Integer minor units of `currency`. */
  amount: number;
  currency: string;
  /**
   * What StarPago's query API knows about the order. Both state fields are there: the fake answers
   * v2 queries (`orderStatus`) and v3 queries (`status`) from the same fields, so the service may be
   * configured for either version.
   */
  truth: StarpagoFields;
  /** Its final callback is never sent (`--lose`). */
  lost: boolean;
  notifications: StarpagoNotificationPlan[];
}

export interface StarpagoPlanOptions {
  kinds: readonly StarpagoKind[];
  orders: number;
  seed: number;
  generation: StarpagoGeneration;
  duplicates: number;
  outOfOrder: number;
  forged: number;
  /** createTime and updateTime depend on it. */
  now?: Date;
}

/** Drawn from the run's random source like Starpay's plan: orders take the kinds in turn, each share picks round(share × orders). */
export function planStarpagoOrders(options: StarpagoPlanOptions): StarpagoOrderPlan[] {
  const { random, duplicated, late, forged } = drawChaos(options);
  const now = (options.now ?? new Date()).getTime();

  return Array.from({ length: options.orders }, (_, index) => {
    const kind = options.kinds[index % options.kinds.length] as StarpagoKind;
    const plan = planOrder(random, kind, options.generation, now);
    if (late.has(index)) plan.notifications.push(lateCallback(random, plan));
    if (duplicated.has(index)) for (const n of plan.notifications) n.copies = 2;
    if (forged.has(index)) plan.notifications.unshift(forgery(random, plan));
    return plan;
  });
}

function planOrder(random: Random, kind: StarpagoKind, generation: StarpagoGeneration, now: number): StarpagoOrderPlan {
  const currency = random.pick(STARPAGO_CURRENCIES);
  const digits = currencyDigits(currency);
  const amount =
    digits === 0 ? random.int(10, 5_000) * 1_000 : random.int(1, 5_000) * 10 ** digits + (random.next() < 0.4 ? random.int(1, 10 ** digits - 1) : 0);
  const failed = random.next() < 0.2;
  const orderRef = random.digits(20);
  const createTime = now - random.int(60_000, 600_000);
  const base: StarpagoFields = {
    orderNo: random.digits(26),
    merOrderNo: orderRef,
    amount: amountField(amount, digits, generation),
    currency,
    attach: random.pick(ATTACHES),
    createTime,
  };
  if (generation === 'v3') base.payMethod = random.pick(PAY_METHODS);

  const notifications: StarpagoNotificationPlan[] = [];
  if (random.next() < 0.3) {
    notifications.push(callback(random, 'interim', { ...base, ...pendingState(random, generation), updateTime: createTime + 1_000 }, generation));
  }
  const final: StarpagoFields = { ...base, ...finalState(random, generation, failed), updateTime: now };
  if (failed) final.message = random.pick(FAILURES);
  else if (generation === 'v3' && kind === 'payin') final.paidAmount = final.amount as string;
  else if (kind === 'payout' && random.next() < 0.5) final.receiptUrl = `https://receipts.starpago.example/${base.orderNo}.png`;
  notifications.push(callback(random, 'final', final, generation));

  const truth: StarpagoFields = { ...final, status: v3Status(final, failed), orderStatus: v2Status(final, failed) };
  delete truth.merOrderNo; // the fake answers with the merOrderNo it was asked about
  return { provider: 'starpago', generation, kind, orderRef, state: failed ? 'FAILED' : 'SUCCESS', amount, currency, truth, lost: false, notifications };
}

/** A resend of an earlier, non-final state that arrives after the final one. */
function lateCallback(random: Random, order: StarpagoOrderPlan): StarpagoNotificationPlan {
  const final = order.notifications.find((n) => n.role === 'final')?.fields ?? {};
  const updateTime = Number(final.createTime) + 2_000;
  return callback(random, 'late', { ...withoutOutcome(final), ...pendingState(random, order.generation), updateTime }, order.generation);
}

/**
 * v2: a "paid, ten times the amount" signed with a wrong secret (the service must answer 401).
 * v3: an unsigned hint StarPago does not back, for an order it does not have or for a state the
 * order is not in; the service answers SUCCESS but must never apply it.
 */
function forgery(random: Random, order: StarpagoOrderPlan): StarpagoNotificationPlan {
  const genuine = order.notifications.find((n) => n.role === 'final')?.fields ?? {};
  const digits = currencyDigits(order.currency);
  const inflated = amountField(order.amount * 10, digits, order.generation);
  if (order.generation === 'v2') return callback(random, 'forged', { ...withoutOutcome(genuine), amount: inflated, orderStatus: 2 }, 'v2');
  if (random.next() < 0.5) {
    return callback(
      random,
      'forged',
      { ...withoutOutcome(genuine), merOrderNo: random.digits(20), orderNo: random.digits(26), status: 'PAID', amount: inflated, paidAmount: inflated },
      'v3',
    );
  }
  const contrary: StarpagoFields =
    order.state === 'SUCCESS' ? { status: 'FAILED', message: random.pick(FAILURES) } : { status: 'PAID', amount: inflated, paidAmount: inflated };
  return callback(random, 'forged', { ...withoutOutcome(genuine), ...contrary, updateTime: Number(genuine.updateTime) + 500 }, 'v3');
}

function callback(random: Random, role: Role, fields: StarpagoFields, generation: StarpagoGeneration): StarpagoNotificationPlan {
  return { role, fields, signed: generation === 'v2', form: random.next() < 0.1, copies: 1 };
}

function pendingState(random: Random, generation: StarpagoGeneration): StarpagoFields {
  return generation === 'v2' ? { orderStatus: random.pick([0, 1, -4]) } : { status: random.pick(['CREATED', 'PENDING']) };
}

function finalState(random: Random, generation: StarpagoGeneration, failed: boolean): StarpagoFields {
  if (generation === 'v2') return { orderStatus: failed ? random.pick([-1, -2, -3]) : random.pick([2, 2, 3]) };
  return { status: failed ? random.pick(['FAILED', 'EXPIRED']) : 'PAID' };
}

function v3Status(final: StarpagoFields, failed: boolean): string {
  return typeof final.status === 'string' ? final.status : failed ? 'FAILED' : 'PAID';
}

function v2Status(final: StarpagoFields, failed: boolean): number {
  return typeof final.orderStatus === 'number' ? final.orderStatus : failed ? -1 : 2;
}

function withoutOutcome(fields: StarpagoFields): StarpagoFields {
  const { message: _message, paidAmount: _paid, receiptUrl: _receipt, ...rest } = fields;
  return rest;
}

/**
 * Major units, as StarPago sends them: v2 a JSON number (`10.5`: the documented type; a
 * trailing `.0` is never signed), v3 a decimal string with the currency's decimals (`"10.50"`).
 */
export function amountField(minor: number, digits: number, generation: StarpagoGeneration): string | number {
  const text = majorText(minor, digits);
  return generation === 'v2' ? Number(text) : text;
}

/** 1050, 2 → `10.50`; 13500, 0 → `13500`. Integer arithmetic on the text, never floating point. */
export function majorText(minor: number, digits: number): string {
  if (digits === 0) return String(minor);
  const text = String(minor).padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

export function currencyDigits(currency: string): number {
  const digits = code(currency)?.digits;
  if (digits === undefined) throw new RangeError(`unknown currency ${currency}`);
  return digits;
}
