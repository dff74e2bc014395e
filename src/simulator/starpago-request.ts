import { randomBytes } from 'node:crypto';
import { signParams } from '../providers/starpago/sign.js';
import type { StarpagoFields, StarpagoNotificationPlan } from './starpago-plan.js';

export interface EncodedBody {
  body: string;
  contentType: string;
}

/**
 * The body StarPago POSTs to the notifyUrl: a flat JSON object, `sign` first as in StarPago's
 * sample, or the same fields form-encoded. `sign` is left out when null (v3).
 */
export function starpagoBody(fields: StarpagoFields, sign: string | null, form = false): EncodedBody {
  const all: StarpagoFields = sign === null ? { ...fields } : { sign, ...fields };
  if (form) {
    const params = new URLSearchParams(Object.entries(all).map(([k, v]): [string, string] => [k, String(v)]));
    return { body: params.toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  return { body: JSON.stringify(all), contentType: 'application/json' };
}

/** A v2 callback is signed with the app secret; a forged one with a secret nobody shares. */
export function encodeStarpagoCallback(
  notification: StarpagoNotificationPlan,
  appSecret: string,
  forgerySecret: string = randomBytes(16).toString('hex'),
): EncodedBody {
  const secret = notification.role === 'forged' ? forgerySecret : appSecret;
  const sign = notification.signed ? signParams(notification.fields, secret) : null;
  return starpagoBody(notification.fields, sign, notification.form);
}
