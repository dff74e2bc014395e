import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { NOTIFICATION_KINDS, toNotification, type NotificationKind } from '../src/providers/starpay/notification.js';
import { ingestParameters } from '../src/store/ingest.js';

export interface BenchKeys {
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** A 2048-bit RSA pair standing in for Starpay's platform key (the service refuses smaller). */
export function generateKeys(): BenchKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

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
    const signature = sign('sha256', Buffer.from(requestText, 'utf8'), keys.privateKey).toString('base64');
    out.push({
      kind,
      path: `/notify/starpay/${kind}`,
      body: Buffer.from(`{"request":${requestText},"signature":"${signature}"}`, 'utf8'),
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
