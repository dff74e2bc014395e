import type { RsaKeyPair } from '../src/simulator/key-pair.js';
import { envelopeBody, signText } from '../src/simulator/starpay-envelope.js';
import { NOTIFICATION_KINDS, toNotification, type NotificationKind } from '../src/providers/starpay/notification.js';
import { ingestParameters } from '../src/store/ingest.js';

/** The pair standing in for Starpay's platform key (`generateRsaKeyPair()`, 2048 bits). */
export type BenchKeys = Pick<RsaKeyPair, 'privateKey' | 'publicKeyPem'>;

export interface SignedNotification {
  path: string;
  body: Buffer;
  kind: NotificationKind;
  requestText: string;
  signature: string;
}

/**
 * `count` unique notifications, signed as Starpay signs them: each a new order reaching SUCCESS
 * (the most work per notification: notification, order, event and delivery rows).
 */
export function signNotifications(keys: BenchKeys, count: number, label: string): SignedNotification[] {
  const out: SignedNotification[] = [];
  const stamp = Date.now();
  for (let i = 0; i < count; i++) {
    const kind = NOTIFICATION_KINDS[i % NOTIFICATION_KINDS.length] as NotificationKind;
    const requestText = JSON.stringify({
      code: '200',
      message: 'success',
      msgId: `${label}${stamp}${String(i).padStart(7, '0')}`,
      mchId: '101510000001',
      originalMsgId: `${label}-2024112511006${String(i).padStart(7, '0')}`,
      trxState: 'SUCCESS',
      trxAmount: '10000.00',
      currency: 'PHP',
      trxDate: '2024-11-25T17:49:51+08:00',
    });
    const signature = signText(requestText, keys.privateKey);
    out.push({
      kind,
      path: `/notify/starpay/${kind}`,
      body: Buffer.from(envelopeBody(requestText, signature), 'utf8'),
      requestText,
      signature,
    });
  }
  return out;
}

/** The exact parameters the service would pass to ingest_notification(), built ahead of time. */
export function ingestParametersOf(notification: SignedNotification, forwardUrls: readonly string[]): unknown[] {
  const request = JSON.parse(notification.requestText) as Record<string, unknown>;
  return ingestParameters(toNotification(notification.kind, request, notification.requestText, notification.signature), {
    destinations: forwardUrls,
    firstQueryAfterMs: null,
  });
}
