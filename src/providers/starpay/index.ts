import type { KeyObject } from 'node:crypto';
import type { Provider, QueryAnswer } from '../../domain/provider.js';
import { NOTIFICATION_KINDS, type NotificationKind } from './notification.js';
import { describeStarpayRoute } from './openapi.js';
import { verifyNotification } from './verify.js';

export interface StarpayOptions {
  /** Platform public keys; empty when Starpay is not configured (its notifications get 401). */
  keys: readonly KeyObject[];
  /** When set, an authentic notification naming another merchant is refused. */
  mchId: string | undefined;
  /** Asks Starpay about one order (5.4, 6.2); absent when STARPAY_API_URL is not configured. */
  query?: (kind: 'disbursement' | 'repayment', orderRef: string) => Promise<QueryAnswer>;
}

/** Kinds Starpay can be asked about by order reference: static-QR payments have no such query. */
const QUERYABLE = new Set<string>(['disbursement', 'repayment']);

/** Starpay: RSA-signed envelopes for disbursements, repayments and static-QR payments. */
export function createStarpayProvider(options: StarpayOptions): Provider {
  const query = options.query;
  return {
    name: 'starpay',
    kinds: NOTIFICATION_KINDS,
    configured: options.keys.length > 0,
    acknowledgement: 'SUCCESS',
    verify: (kind, body) => verifyNotification(kind as NotificationKind, body, { keys: options.keys, mchId: options.mchId }),
    describe: describeStarpayRoute,
    isQueryable: (kind) => query !== undefined && QUERYABLE.has(kind),
    ...(query === undefined ? {} : { query: (kind: string, orderRef: string) => query(kind as 'disbursement' | 'repayment', orderRef) }),
  };
}
