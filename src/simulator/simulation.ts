import type { NotificationKind } from '../providers/starpay/notification.js';
import { planOrders, type OrderPlan, type PlannedNotification } from './plan.js';
import { seededRandom } from './random.js';
import { planStarpagoOrders, type StarpagoGeneration, type StarpagoNotificationPlan, type StarpagoOrderPlan } from './starpago-plan.js';
import type { StarpagoKind } from '../providers/starpago/client.js';

export type SimulatedProvider = 'starpay' | 'starpago';
export type SimulatedOrder = OrderPlan | StarpagoOrderPlan;
export type SimulatedNotification = PlannedNotification | StarpagoNotificationPlan;

export interface SimulationPlanOptions {
  /** Starpay kinds to simulate (empty: no Starpay orders). */
  kinds: readonly NotificationKind[];
  /** StarPago kinds to simulate (empty: no StarPago orders). */
  starpagoKinds: readonly StarpagoKind[];
  starpagoVersion: StarpagoGeneration;
  orders: number;
  seed: number;
  mchId: string;
  duplicates: number;
  outOfOrder: number;
  forged: number;
  /** Share of the queryable orders whose final notification is never sent. */
  lose: number;
  now?: Date;
}

/**
 * Every order of a run: the kinds of both providers taken in turn (Starpay's first), each
 * provider's orders drawn from its own stream of the seed, so that a Starpay-only run is exactly
 * `planOrders` of the same seed. Then `lose` drops the final notification of that share of the
 * orders a provider can be asked about.
 */
export function planSimulation(options: SimulationPlanOptions): SimulatedOrder[] {
  const kinds: Array<{ provider: SimulatedProvider; kind: string }> = [
    ...options.kinds.map((kind) => ({ provider: 'starpay' as const, kind })),
    ...options.starpagoKinds.map((kind) => ({ provider: 'starpago' as const, kind })),
  ];
  if (kinds.length === 0) return [];
  const sequence = Array.from({ length: options.orders }, (_, index) => (kinds[index % kinds.length] as (typeof kinds)[number]).provider);
  const count = (provider: SimulatedProvider) => sequence.filter((p) => p === provider).length;

  const starpay = count('starpay') === 0 ? [] : planOrders({ ...options, orders: count('starpay') });
  const starpago =
    count('starpago') === 0
      ? []
      : planStarpagoOrders({
          ...options,
          kinds: options.starpagoKinds,
          generation: options.starpagoVersion,
          orders: count('starpago'),
          seed: streamSeed(options.seed, 1),
        });
  const merged = sequence.map((provider) => (provider === 'starpay' ? starpay.shift() : starpago.shift()) as SimulatedOrder);
  return loseFinals(merged, options.lose, streamSeed(options.seed, 2));
}

/** Whether the provider can be asked about the order (Starpay's static-QR payments cannot). */
export function isQueryable(order: SimulatedOrder): boolean {
  return order.truth !== null;
}

/**
 * Exactly round(share × queryable orders) of the queryable orders lose their final notification
 * (copies included); interim, late and forged ones are still sent. What the provider knows stays
 * in `truth`, and the service must find it by asking.
 */
export function loseFinals(orders: readonly SimulatedOrder[], share: number, seed: number): SimulatedOrder[] {
  const queryable = orders.flatMap((order, index) => (isQueryable(order) ? [index] : []));
  const picked = seededRandom(seed).sample(queryable.length, Math.round(share * queryable.length));
  const lost = new Set([...picked].map((i) => queryable[i] as number));
  return orders.map((order, index) => {
    if (!lost.has(index)) return order;
    const notifications = (order.notifications as SimulatedNotification[]).filter((n) => n.role !== 'final');
    return { ...order, lost: true, notifications } as SimulatedOrder;
  });
}

/** Another stream of the same seed (a multiplicative hash), so that one provider's draws do not shift another's. */
function streamSeed(seed: number, stream: number): number {
  return (Math.imul(seed ^ (stream * 0x9e3779b9), 0x85ebca6b) ^ stream) >>> 0;
}
