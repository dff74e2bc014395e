import { setTimeout as sleepFor } from 'node:timers/promises';
import { FINAL_STATES } from '../domain/order-state.js';
import type { SimulatedOrder } from './simulation.js';

export interface Recovery {
  order: SimulatedOrder;
  /** The service's state for the order when the wait ended, null when it does not know it. */
  state: string | null;
  /** Its final state matches the provider's truth and a query answer of the provider is among its notifications. */
  recovered: boolean;
  /** Milliseconds from the start of the wait until the order reached a final state, or null. */
  afterMs: number | null;
}

export interface RecoveryResult {
  lost: number;
  recovered: number;
  recoveries: Recovery[];
}

export interface RecoverOptions {
  /** The service's base URL. */
  url: string;
  opsToken: string;
  /** Gives up on the orders still not final after this long. */
  timeoutMs: number;
  /** Between two rounds of look-ups. */
  intervalMs?: number;
  requestTimeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called once per order as it reaches a final state. */
  onSettled?: (recovery: Recovery) => void;
}

interface OrderDetail {
  order: { state: string };
  notifications: Array<{ source?: string }>;
}

/**
 * Looks the lost orders up (`GET /ops/orders/:kind/:orderRef`) until each is in a final state or
 * the time is up. Nothing told the service their outcome, so a final state that matches the
 * provider's truth was found by asking the provider (`source: query`).
 */
export async function awaitRecovery(lost: readonly SimulatedOrder[], options: RecoverOptions): Promise<RecoveryResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms));
  const started = now();
  const recoveries = new Map<SimulatedOrder, Recovery>(lost.map((order) => [order, { order, state: null, recovered: false, afterMs: null }]));
  let pending = [...lost];

  for (;;) {
    const looked = await Promise.all(pending.map(async (order) => ({ order, detail: await lookUp(order, options) })));
    pending = [];
    for (const { order, detail } of looked) {
      const recovery = recoveries.get(order) as Recovery;
      recovery.state = detail?.order.state ?? null;
      if (detail === null || !FINAL_STATES.has(detail.order.state)) {
        pending.push(order);
        continue;
      }
      recovery.recovered = detail.order.state === order.state && detail.notifications.some((n) => n.source === 'query');
      recovery.afterMs = now() - started;
      options.onSettled?.(recovery);
    }
    if (pending.length === 0 || now() - started >= options.timeoutMs) break;
    await sleep(Math.min(options.intervalMs ?? 1_000, Math.max(0, options.timeoutMs - (now() - started))));
  }
  const all = [...recoveries.values()];
  return { lost: all.length, recovered: all.filter((r) => r.recovered).length, recoveries: all };
}

export function formatRecovery(result: Pick<RecoveryResult, 'lost' | 'recovered'>): string {
  return `lost ${result.lost}, recovered ${result.recovered} by query`;
}

/** The order's detail, or null when the service does not know it (yet) or could not answer. */
async function lookUp(order: SimulatedOrder, options: RecoverOptions): Promise<OrderDetail | null> {
  const url = `${options.url.replace(/\/+$/, '')}/ops/orders/${order.kind}/${encodeURIComponent(order.orderRef)}`;
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${options.opsToken}` },
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 10_000),
    });
    if (!response.ok) return null;
    return (await response.json()) as OrderDetail;
  } catch {
    return null;
  }
}
