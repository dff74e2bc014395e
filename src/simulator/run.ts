import type { KeyObject } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { generateRsaKeyPair } from './key-pair.js';
import { signedBody } from './request.js';
import type { SimulatedNotification, SimulatedOrder, SimulatedProvider } from './simulation.js';
import { encodeStarpagoCallback, type EncodedBody } from './starpago-request.js';
import type { PlannedNotification } from './plan.js';
import type { StarpagoNotificationPlan } from './starpago-plan.js';

export interface Reply {
  /** 0 when no HTTP reply came (connection refused, timeout). */
  status: number;
  body: Buffer;
}

export type Post = (url: string, body: string, timeoutMs: number, contentType?: string) => Promise<Reply>;

export interface RunOptions {
  /** The receiver's base URL; notifications go to `<url>/notify/<provider>/<kind>`. */
  url: string;
  /** Signs genuine Starpay notifications (the key whose public half the receiver trusts); required with Starpay orders. */
  privateKey?: KeyObject;
  /** Signs forged ones; a throwaway key when omitted. */
  forgeryKey?: KeyObject;
  /** Signs StarPago v2 callbacks; required with StarPago v2 orders. */
  appSecret?: string;
  /** Waits before each resend (see schedule.ts; StarPago resends on the same schedule). */
  delays: readonly number[];
  /** Requests in flight at once. */
  concurrency: number;
  timeoutMs: number;
  post?: Post;
  sleep?: (ms: number) => Promise<void>;
  /** Called as each delivery (one copy of one notification) ends. */
  onDelivery?: (delivery: Delivery) => void;
}

/** The counts of the summary line; every HTTP request is counted once in `sent`. */
export interface Summary {
  sent: number;
  /** Requests answered with status 200 and exactly the 7 bytes `SUCCESS`. */
  success: number;
  /** Requests answered 4xx (but 408 and 429, which are worth resending). */
  refused: number;
  /** Resends after a reply that was neither. */
  retried: number;
}

export interface Delivery {
  order: SimulatedOrder;
  notification: SimulatedNotification;
  outcome: 'acknowledged' | 'refused' | 'unacknowledged';
  attempts: number;
  /** The last reply, e.g. `200 SUCCESS`, `401`, `ECONNREFUSED`. */
  lastReply: string;
  /** Genuine ones must be acknowledged; forged ones refused with 401 (StarPago v3 hints: acknowledged, never applied). */
  asExpected: boolean;
}

export interface RunResult {
  summary: Summary;
  /** The same counts per provider that had orders in the run. */
  byProvider: Partial<Record<SimulatedProvider, Summary>>;
  deliveries: Delivery[];
  /** Every delivery ended as expected. */
  ok: boolean;
}

const ACK = Buffer.from('SUCCESS');

/**
 * Sends every order's notifications one after the other, each copy resent on the provider's
 * schedule until the reply is exactly SUCCESS. A 4xx is not resent: the same bytes would get the
 * same verdict (the provider itself would keep resending; here it would only stretch the run).
 */
export async function runSimulation(orders: readonly SimulatedOrder[], options: RunOptions): Promise<RunResult> {
  const post = options.post ?? httpPost;
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms));
  const limit = limiter(options.concurrency);
  const summary: Summary = emptySummary();
  const byProvider: Partial<Record<SimulatedProvider, Summary>> = {};
  for (const order of orders) byProvider[order.provider] ??= emptySummary();
  const deliveries: Delivery[] = [];
  const encode = encoder(orders, options);

  async function deliver(order: SimulatedOrder, notification: SimulatedNotification, { body, contentType }: EncodedBody): Promise<void> {
    const endpoint = `${options.url.replace(/\/+$/, '')}/notify/${order.provider}/${order.kind}`;
    const counts = [summary, byProvider[order.provider] as Summary];
    const count = (field: keyof Summary) => counts.forEach((c) => c[field]++);
    let reply: Reply;
    let attempts = 0;
    let outcome: Delivery['outcome'];
    for (;;) {
      reply = await limit(() => post(endpoint, body, options.timeoutMs, contentType));
      count('sent');
      attempts++;
      if (reply.status === 200 && reply.body.equals(ACK)) {
        count('success');
        outcome = 'acknowledged';
        break;
      }
      if (isRefusal(reply.status)) {
        count('refused');
        outcome = 'refused';
        break;
      }
      const wait = options.delays[attempts - 1];
      if (wait === undefined) {
        outcome = 'unacknowledged';
        break;
      }
      await sleep(wait);
      count('retried');
    }
    const asExpected = mustBeRefused(order, notification) ? outcome === 'refused' && reply.status === 401 : outcome === 'acknowledged';
    const delivery: Delivery = { order, notification, outcome, attempts, lastReply: describeReply(reply), asExpected };
    deliveries.push(delivery);
    options.onDelivery?.(delivery);
  }

  await Promise.all(
    orders.map(async (order) => {
      for (const notification of order.notifications as SimulatedNotification[]) {
        const body = encode(order, notification);
        await Promise.all(Array.from({ length: notification.copies }, () => deliver(order, notification, body)));
      }
    }),
  );
  return { summary, byProvider, deliveries, ok: deliveries.every((d) => d.asExpected) };
}

/**
 * A forged Starpay notification or StarPago v2 callback must be refused with 401. A forged v3
 * hint is answered SUCCESS like any other (nothing in it can be checked), and must simply never
 * be applied: that shows in the service's orders, not in the reply.
 */
export function mustBeRefused(order: SimulatedOrder, notification: SimulatedNotification): boolean {
  return notification.role === 'forged' && !(order.provider === 'starpago' && order.generation === 'v3');
}

/** Body and content type of one notification, signed as its provider signs it. */
function encoder(orders: readonly SimulatedOrder[], options: RunOptions): (order: SimulatedOrder, notification: SimulatedNotification) => EncodedBody {
  const needsForgery = orders.some((order) => order.provider === 'starpay' && order.notifications.some((n) => n.role === 'forged'));
  const forgeryKey = options.forgeryKey ?? (needsForgery ? throwawayKey() : options.privateKey);
  return (order, notification) => {
    if (order.provider === 'starpago') {
      if (notification.role !== 'forged' && order.generation === 'v2' && options.appSecret === undefined)
        throw new Error('StarPago v2 callbacks need the app secret');
      return encodeStarpagoCallback(notification as StarpagoNotificationPlan, options.appSecret ?? '');
    }
    const key = notification.role === 'forged' ? forgeryKey : options.privateKey;
    if (key === undefined) throw new Error('Starpay notifications need the private key');
    const planned = notification as PlannedNotification;
    return { body: signedBody(planned.fields, key, planned.spelling), contentType: 'application/json' };
  };
}

function emptySummary(): Summary {
  return { sent: 0, success: 0, refused: 0, retried: 0 };
}

export function formatSummary(summary: Summary): string {
  return `sent ${summary.sent}, SUCCESS ${summary.success}, refused ${summary.refused}, retried ${summary.retried}`;
}

function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function describeReply(reply: Reply): string {
  if (reply.status === 0) return reply.body.toString();
  // The service's error body names the reason (PROVIDER_NOT_CONFIGURED says what to configure).
  if (reply.status !== 200) return [String(reply.status), errorCodeOf(reply.body)].filter((part) => part !== undefined).join(' ');
  return reply.body.equals(ACK) ? '200 SUCCESS' : `200 ${JSON.stringify(reply.body.toString('utf8', 0, 80))}`;
}

function errorCodeOf(body: Buffer): string | undefined {
  try {
    const code = (JSON.parse(body.toString('utf8')) as { code?: unknown }).code;
    return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

function throwawayKey(): KeyObject {
  return generateRsaKeyPair().privateKey;
}

/** POST with fetch; a network error or timeout becomes status 0, like any other unacknowledged reply. */
export async function httpPost(url: string, body: string, timeoutMs: number, contentType = 'application/json'): Promise<Reply> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'user-agent': 'notification-simulator' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { status: 0, body: Buffer.from(cause?.code ?? (error as Error).name) };
  }
}

/** At most `max` tasks at once; the rest wait in order. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    while (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
