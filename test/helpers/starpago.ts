import { startFakeStarpago } from '../../src/sandbox/starpago-api.js';
import type { FastifyInstance } from 'fastify';
import { signParams } from '../../src/providers/starpago/sign.js';
import { OPS_TOKEN } from './app.js';

export const STARPAGO_APP_ID = 'app-merchant-42';
export const STARPAGO_APP_SECRET = '6b1f0c2d9e8a7b6c5d4e3f2a1b0c9d8e';

let sequence = 0;

/** A fresh merchant order number, unique within the run. */
export function merOrderNo(prefix = 'MO'): string {
  sequence += 1;
  return `${prefix}-${Date.now().toString(36)}-${String(sequence).padStart(4, '0')}`;
}

/** A v2 callback's fields (StarPago's documented sample, a payin in PHP), unsigned. */
export function v2Fields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    amount: 10,
    attach: 'starpago',
    orderNo: `2022091510062441${String(sequence).padStart(4, '0')}`,
    currency: 'PHP',
    createTime: 1663236384416,
    merOrderNo: merOrderNo(),
    updateTime: 1663236430613,
    orderStatus: 2,
    ...overrides,
  };
}

/** The fields with their `sign`, as StarPago sends a v2 callback. */
export function signedV2(fields: Record<string, unknown>, secret = STARPAGO_APP_SECRET): Record<string, unknown> {
  return { sign: signParams(fields, secret), ...fields };
}

/** A v3 callback: unsigned, `status` a string. */
export function v3Fields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'PAID',
    orderNo: `SP${Date.now()}`,
    merOrderNo: merOrderNo('V3'),
    amount: '250.00',
    paidAmount: '250.00',
    currency: 'PHP',
    payMethod: 'GCASH',
    attach: 'cart-9',
    createTime: 1700000000000,
    updateTime: 1700000060000,
    ...overrides,
  };
}

export interface PostOptions {
  /** `form`: application/x-www-form-urlencoded with the same fields. */
  encoding?: 'json' | 'form';
  remoteAddress?: string;
}

/** POSTs a StarPago callback to /notify/starpago/<kind> through the app. */
export function postStarpago(app: FastifyInstance, kind: string, fields: Record<string, unknown>, options: PostOptions = {}) {
  const form = options.encoding === 'form';
  return app.inject({
    method: 'POST',
    url: `/notify/starpago/${kind}`,
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    payload: form ? new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString() : JSON.stringify(fields),
    ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
  });
}

/** GET on the ops API with the token; the parsed JSON and the status. */
export async function opsGet<T = Record<string, unknown>>(app: FastifyInstance, url: string): Promise<{ status: number; body: T }> {
  const response = await app.inject({ url, headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  return { status: response.statusCode, body: response.json<T>() };
}

export interface OrderDetail {
  order: Record<string, unknown> & { state: string };
  notifications: (Record<string, unknown> & { source: string; status: string })[];
  events: { id: string; type: string; data: Record<string, unknown> }[];
}

/** An order's detail from the ops API, or null when the service does not know it. */
export async function orderDetail(app: FastifyInstance, kind: string, orderRef: string): Promise<OrderDetail | null> {
  const { status, body } = await opsGet<OrderDetail>(app, `/ops/orders/${kind}/${encodeURIComponent(orderRef)}`);
  if (status === 404) return null;
  if (status !== 200) throw new Error(`order detail answered ${status}`);
  return body;
}

export type NotificationItem = Record<string, unknown> & { status: string; source: string; reason: string | null; deliveryCount: number };

/** Every notification kept for one order reference (accepted, rejected, unverified; query answers included), oldest first. */
export async function notificationsOf(app: FastifyInstance, orderRef: string): Promise<NotificationItem[]> {
  const { status, body } = await opsGet<{ items: NotificationItem[] }>(app, `/ops/notifications?orderRef=${encodeURIComponent(orderRef)}&limit=500`);
  if (status !== 200) throw new Error(`notification list answered ${status}`);
  return body.items.reverse();
}

/** A fake StarPago API that knows the tests' app id and secret. */
export function startStarpagoApi() {
  return startFakeStarpago({ appId: STARPAGO_APP_ID, appSecret: STARPAGO_APP_SECRET });
}

/** The environment of a service that trusts the tests' StarPago app and asks `apiUrl`, on a one-minute schedule. */
export function starpagoEnv(apiUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { STARPAGO_APP_ID, STARPAGO_APP_SECRET, STARPAGO_API_URL: apiUrl, RECONCILE_SCHEDULE: '1m', ...extra };
}
