import { isQueryable, type SimulatedOrder } from './simulation.js';

/** A registration the sandbox or the service did not take; the message says which and why. */
export class RegistrationError extends Error {}

export interface RegisterOptions {
  timeoutMs: number;
  /** Registrations in flight at once. */
  concurrency?: number;
}

/**
 * Tells the sandbox's fakes what each queryable order's provider knows, so that the service's
 * queries get the truth: `PUT /sandbox/starpay/orders/:kind/:orderRef` and
 * `PUT /sandbox/starpago/orders/:kind/:merOrderNo`, each at the origin of its fake API.
 */
export async function registerTruth(
  orders: readonly SimulatedOrder[],
  options: RegisterOptions & { starpayApi: string; starpagoApi: string },
): Promise<number> {
  const queryable = orders.filter(isQueryable);
  await inBatches(queryable, options.concurrency ?? 8, async (order) => {
    const origin = new URL(order.provider === 'starpay' ? options.starpayApi : options.starpagoApi).origin;
    const url = `${origin}/sandbox/${order.provider}/orders/${order.kind}/${encodeURIComponent(order.orderRef)}`;
    const response = await send(
      url,
      'PUT',
      {},
      JSON.stringify(order.truth),
      options.timeoutMs,
      `the fake ${order.provider} API at ${origin}: start it with npm run sandbox, or pass --${order.provider}-api`,
    );
    if (!response.ok)
      throw new RegistrationError(`the fake ${order.provider} API refused order ${order.orderRef}: HTTP ${response.status} ${await response.text()}`);
  });
  return queryable.length;
}

/**
 * Registers each order with the service before anything is sent, as the merchant's backend does
 * when it creates one: `PUT /ops/orders/:kind/:orderRef` with its amount in minor units. Static-QR
 * payments are left out: the payer starts them, so the merchant learns of them by notification.
 */
export async function registerWithService(orders: readonly SimulatedOrder[], options: RegisterOptions & { url: string; opsToken: string }): Promise<number> {
  const created = orders.filter(isQueryable);
  const base = options.url.replace(/\/+$/, '');
  await inBatches(created, options.concurrency ?? 8, async (order) => {
    const url = `${base}/ops/orders/${order.kind}/${encodeURIComponent(order.orderRef)}`;
    const body = JSON.stringify({ amount: order.amount, currency: order.currency });
    const headers = { authorization: `Bearer ${options.opsToken}` };
    const response = await send(url, 'PUT', headers, body, options.timeoutMs, `the service at ${base}`);
    if (response.status === 200 || response.status === 201) return;
    const text = (await response.text()).slice(0, 300);
    if (response.status === 401)
      throw new RegistrationError(`the service refused the ops token (401): pass --ops-token or set OPS_API_TOKEN as the service has it`);
    const hint = response.status === 404 ? ' (a service that cannot register orders yet?)' : '';
    throw new RegistrationError(
      `the service did not register ${order.kind} ${order.orderRef}: PUT /ops/orders answered HTTP ${response.status}${hint} ${text}`,
    );
  });
  return created.length;
}

async function send(url: string, method: string, headers: Record<string, string>, body: string, timeoutMs: number, what: string): Promise<Response> {
  try {
    return await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new RegistrationError(`nothing answers at ${what}`);
  }
}

async function inBatches<T>(items: readonly T[], size: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map(task));
  }
}
