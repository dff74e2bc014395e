import type { OrderState } from '../../domain/order-state.js';

const V2_SUCCESS = new Set([2, 3]);
const V2_FAILED = new Set([-1, -2, -3]);

/**
 * v2 `orderStatus` (a number, or its text in a form body): 2, 3 succeeded; -1, -2, -3 failed
 * (StarPago groups -3 with failures); 0, 1, -4 and anything unknown are still in progress.
 */
export function v2State(orderStatus: unknown): OrderState {
  let status: number | null = null;
  if (typeof orderStatus === 'number' && Number.isInteger(orderStatus)) status = orderStatus;
  else if (typeof orderStatus === 'string' && /^\s*-?\d+\s*$/.test(orderStatus)) status = Number(orderStatus);
  if (status === null) return 'PENDING';
  if (V2_SUCCESS.has(status)) return 'SUCCESS';
  if (V2_FAILED.has(status)) return 'FAILED';
  return 'PENDING';
}

/** Every v3 `status` StarPago documents. */
export const V3_STATUSES = ['CREATED', 'PENDING', 'PAID', 'FAILED', 'EXPIRED', 'REFUNDED', 'EXCEPTION'] as const;

const V3_STATES: Readonly<Record<string, OrderState>> = {
  PAID: 'SUCCESS',
  FAILED: 'FAILED',
  EXPIRED: 'FAILED',
  REFUNDED: 'REFUNDED',
};

/**
 * v3 `status`, spelled exactly: PAID succeeded; FAILED, EXPIRED failed; REFUNDED was returned
 * (it may follow PAID). CREATED, PENDING, EXCEPTION and anything else are not final: acting on
 * a guess could settle money's state for good.
 */
export function v3State(status: unknown): OrderState {
  return typeof status === 'string' && Object.hasOwn(V3_STATES, status) ? (V3_STATES[status] as OrderState) : 'PENDING';
}
