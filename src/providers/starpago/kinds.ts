/** StarPago's order kinds: each has its callback route and its query. */
export const STARPAGO_KINDS = ['payin', 'payout'] as const;
export type StarpagoKind = (typeof STARPAGO_KINDS)[number];
