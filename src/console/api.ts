import type { OrderState } from '../domain/order-state.js';
import type { DeliveryAttemptView, DeliveryView, DestinationView, EventView, NotificationView, OrderView } from '../http/ops/shapes.js';

/** The ops API as the console calls it: same origin, the token from this tab's sessionStorage only. */

const TOKEN_KEY = 'ops-api-token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The ops API's answers, typed from the schemas the service checks its replies against (no copy to drift). */
export type State = OrderState;
export type Order = OrderView;
export type Notification = NotificationView;
export type Attempt = DeliveryAttemptView;
/** In an order's detail a delivery also carries its attempts. */
export type Delivery = DeliveryView & { attemptLog?: Attempt[] };
export type OrderEvent = EventView;
export interface OrderDetail {
  order: Order;
  notifications: Notification[];
  events: OrderEvent[];
  deliveries: Delivery[];
}
export type Destination = DestinationView;

export interface BulkRetry {
  destination: string;
  createdAfter?: string;
  createdBefore?: string;
}

export interface Page<Item> {
  items: Item[];
  nextCursor: string | null;
}

/** GET /ops/providers: what the service serves, so that the console lists no provider of its own. */
export interface ProviderInfo {
  name: string;
  configured: boolean;
  kinds: { kind: string; queryable: boolean }[];
}

export interface Summary {
  orders: Record<string, Partial<Record<State, number>>>;
  conflicts: number;
  stale: number;
  amountMismatches: number;
  deliveries: { pending: number; dead: number };
  lastNotificationAt: Record<string, string | null>;
}

export interface Operator {
  actor: string;
  scope: 'read' | 'operate';
  session: boolean;
}

export interface AuditRecord {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  status: number;
  details: unknown;
  requestId: string | null;
  ip: string | null;
}

export interface ReconcileReply {
  order: Order | null;
  query: { outcome: string; providerState: string | null };
}

/** A refused or failed call, with what the service said about it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** Called when the service refuses the stored token, so the console can ask for it again. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export type Query = Record<string, string | undefined>;

interface CallOptions {
  method?: 'GET' | 'POST';
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Overrides the stored token (signing in checks a token before keeping it). */
  token?: string;
}

export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const token = options.token ?? storedToken() ?? '';
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    // Only the filters in use: an unset filter is not sent at all.
    if (value !== undefined && value !== '') url.searchParams.set(name, value);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'The service did not answer.');
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body as T;
  const error = body as { code?: unknown; message?: unknown; requestId?: unknown } | undefined;
  const failure = new ApiError(
    response.status,
    typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
    typeof error?.message === 'string' ? error.message : response.statusText,
    typeof error?.requestId === 'string' ? error.requestId : undefined,
  );
  if (response.status === 401 && options.token === undefined) onUnauthorized();
  throw failure;
}

export const api = {
  summary: () => call<Summary>('/ops/summary'),
  providers: () => call<{ items: ProviderInfo[] }>('/ops/providers'),
  orders: (query: Query) => call<Page<Order>>('/ops/orders', { query }),
  order: (kind: string, orderRef: string) => call<OrderDetail>(`/ops/orders/${encodeURIComponent(kind)}/${encodeURIComponent(orderRef)}`),
  reconcile: (kind: string, orderRef: string) =>
    call<ReconcileReply>(`/ops/orders/${encodeURIComponent(kind)}/${encodeURIComponent(orderRef)}/reconcile`, { method: 'POST' }),
  deliveries: (query: Query) => call<Page<Delivery>>('/ops/deliveries', { query }),
  retryDelivery: (id: string) => call<{ delivery: Delivery }>(`/ops/deliveries/${encodeURIComponent(id)}/retry`, { method: 'POST' }),
  destinations: () => call<{ items: Destination[] }>('/ops/destinations'),
  pauseDestination: (id: string) => call<{ destination: Destination }>(`/ops/destinations/${encodeURIComponent(id)}/pause`, { method: 'POST' }),
  resumeDestination: (id: string) => call<{ destination: Destination }>(`/ops/destinations/${encodeURIComponent(id)}/resume`, { method: 'POST' }),
  retryDeadDeliveries: (body: BulkRetry) => call<{ matched: number }>('/ops/deliveries/retry', { method: 'POST', body }),
  notifications: (query: Query) => call<Page<Notification>>('/ops/notifications', { query }),
  audit: (query: Query) => call<Page<AuditRecord>>('/ops/audit', { query }),
  whoAmI: () => call<Operator>('/ops/session'),
  signOut: () => call<undefined>('/ops/session/sign-out', { method: 'POST' }),
  ssoEnabled: () => call<{ enabled: boolean }>('/console/sso'),
  /** Any authenticated call will do: it answers 401 to a wrong token. */
  checkToken: (token: string) => call<Page<Order>>('/ops/orders', { query: { limit: '1' }, token }),
};
