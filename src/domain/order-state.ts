export const ORDER_STATES = ['PENDING', 'SUCCESS', 'FAILED', 'REFUNDED'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

const FAILED_SPELLINGS = new Set(['FAIL', 'FAILED', 'FAILURE']);

/**
 * Starpay's `trxState` mapped onto the order's state, spelled exactly: anything else (another
 * case included) is not final, since acting on a guess could move money's state for good.
 */
export function normaliseState(trxState: string): OrderState {
  if (trxState === 'SUCCESS') return 'SUCCESS';
  if (FAILED_SPELLINGS.has(trxState)) return 'FAILED';
  return 'PENDING';
}

export function isFinal(state: OrderState): boolean {
  return state !== 'PENDING';
}

/** What a new (not repeated) notification does to its order. */
export type Transition = 'created' | 'changed' | 'unchanged' | 'conflict';

/**
 * The order state machine. A final state never moves; a different final state marks a conflict;
 * a late non-final notification after a final one changes nothing (it arrived out of order).
 * The database function `ingest_notification` applies the same rules under a row lock;
 * this is their readable reference, and the tests hold the two together.
 */
export function transition(current: OrderState | null, incoming: OrderState): Transition {
  if (current === null) return 'created';
  if (current === incoming) return 'unchanged';
  if (isFinal(current)) return isFinal(incoming) ? 'conflict' : 'unchanged';
  return 'changed';
}
