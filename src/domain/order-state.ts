export const ORDER_STATES = ['PENDING', 'SUCCESS', 'FAILED', 'REFUNDED'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/** The outcomes: an order in one is no longer asked about, and a later PENDING is too late (order_transition.sql has the rule). */
export const FINAL_STATES: ReadonlySet<string> = new Set<OrderState>(['SUCCESS', 'FAILED', 'REFUNDED']);

/**
 * What a report did to its order. The rule that decides it exists once, in the database
 * (prisma/functions/order_transition.sql), where it runs under the order's row lock.
 */
export type Transition = 'created' | 'changed' | 'unchanged' | 'conflict';
