export const ORDER_STATES = ['PENDING', 'SUCCESS', 'FAILED', 'REFUNDED'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/**
 * What a report did to its order. The rule that decides it exists once, in the database
 * (prisma/functions/order_transition.sql), where it runs under the order's row lock.
 */
export type Transition = 'created' | 'changed' | 'unchanged' | 'conflict';
