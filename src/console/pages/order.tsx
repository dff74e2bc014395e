import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { FINAL_STATES } from '../../domain/order-state.js';
import { api, type Delivery, type Notification, type Order, type OrderDetail, type OrderEvent } from '../api.js';
import { ErrorNote, Heading, Loading, Money, StateBadge, Time, YesNo, errorText, useLoad } from '../components.js';
import { prettyJson } from '../format.js';
import { Flags } from './orders.js';
import { useCanOperate } from '../operator.js';
import { RetryButton } from './retry-button.js';

export function OrderPage({ kind, orderRef }: { kind: string; orderRef: string }) {
  const detail = useLoad(() => api.order(kind, orderRef), `${kind}\u0000${orderRef}`);
  return (
    <>
      <Heading>
        Order <span class="ref">{orderRef}</span>
      </Heading>
      <p>
        <a href="#/orders">Back to orders</a>
      </p>
      {detail.loading && detail.data === undefined && <Loading />}
      {detail.error !== undefined && <ErrorNote title="Could not load the order" error={detail.error} />}
      {detail.data !== undefined && <OrderView detail={detail.data} reload={detail.reload} />}
    </>
  );
}

function OrderView({ detail, reload }: { detail: OrderDetail; reload: () => void }) {
  const { order } = detail;
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const retried = (text: string) => {
    setNotice(text);
    reload();
  };
  return (
    <>
      <section aria-labelledby="fields">
        <h2 id="fields">Order</h2>
        <OrderFields order={order} />
        <Reconcile order={order} reload={reload} />
      </section>
      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <Timeline order={order} notifications={detail.notifications} events={detail.events ?? []} />
      </section>
      <section aria-labelledby="deliveries">
        <h2 id="deliveries">Deliveries</h2>
        <p role="status" class={notice === undefined ? 'visually-hidden' : 'ok'}>
          {notice}
        </p>
        {detail.deliveries.length === 0 ? (
          <p class="muted">No deliveries.</p>
        ) : (
          detail.deliveries.map((delivery) => <DeliveryView key={delivery.id} delivery={delivery} onRetried={retried} />)
        )}
      </section>
    </>
  );
}

function OrderFields({ order }: { order: Order }) {
  const rows: [string, ComponentChildren][] = [
    ['Provider', order.provider ?? '—'],
    ['Kind', order.kind],
    ['Order reference', <span class="ref">{order.orderRef}</span>],
    ['State', <StateBadge state={order.state} />],
    ['Raw state', order.rawState],
    ['Amount', <Money minor={order.amount} currency={order.currency} />],
    ['Paid amount', <Money minor={order.paidAmount} currency={order.currency} />],
    ['Expected amount', <Money minor={order.expectedAmount} currency={order.currency} />],
    ['Currency', order.currency ?? '—'],
    ['Transaction date', <TransactionDate text={order.trxDate} />],
    ['Error code', order.errorCode ?? '—'],
    ['Error message', order.errorMessage ?? '—'],
    ['Flags', <Flags order={order} />],
    ['Conflict', <YesNo value={order.conflict} />],
    ['Notifications', <NotificationCount order={order} />],
    ['Last queried', <Time value={order.lastQueriedAt} />],
    ['Created', <Time value={order.createdAt} />],
    ['Updated', <Time value={order.updatedAt} />],
  ];
  return (
    <dl class="fields">
      {rows.map(([label, value]) => (
        <div key={label} class="field-row">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Asks the provider for the order's state now, and shows what it answered or why it could not. */
function Reconcile({ order, reload }: { order: Order; reload: () => void }) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const canOperate = useCanOperate();

  async function reconcile() {
    setBusy(true);
    setOutcome(undefined);
    try {
      const reply = await api.reconcile(order.kind, order.orderRef);
      const state = reply.query.providerState === null ? 'no state' : `state ${reply.query.providerState}`;
      setOutcome({ ok: true, text: `Provider answered: ${reply.query.outcome} (${state}).` });
      reload();
    } catch (error) {
      setOutcome({ ok: false, text: `Reconcile failed: ${errorText(error)}` });
    } finally {
      setBusy(false);
    }
  }

  if (!canOperate) return null;
  return (
    <div class="actions">
      <button type="button" onClick={() => void reconcile()} disabled={busy} aria-describedby="reconcile-help">
        {busy ? 'Reconciling…' : 'Reconcile'}
      </button>
      <span id="reconcile-help" class="muted">
        Ask the provider for this order's state now.
      </span>
      {outcome !== undefined && (
        <p role={outcome.ok ? 'status' : 'alert'} class={outcome.ok ? 'ok' : 'error'}>
          {outcome.text}
        </p>
      )}
    </div>
  );
}

/** A provider's transaction date as a local time like every other, or its text when it is not a date. */
function TransactionDate({ text }: { text: string | null }) {
  if (text === null) return <span class="muted">—</span>;
  return Number.isNaN(Date.parse(text)) ? <>{text}</> : <Time value={text} />;
}

/** Notifications applied; an order settled by queries alone says so instead of a bare 0. */
function NotificationCount({ order }: { order: Order }) {
  if (order.notificationCount > 0) return <>{order.notificationCount}</>;
  if (order.rawState === null) return <>none yet (registered, waiting for the provider)</>;
  return <>none: its state came from the provider's answer to a query</>;
}

type Entry = { at: string; registered: Order } | { at: string; notification: Notification; effect: Effect } | { at: string; event: OrderEvent };

/** What an accepted notification did: moved the order, or nothing (a repeat of its state, or too late). */
type Effect = { moved: true } | { moved: false; finalState: string | undefined };

/**
 * Notifications, query answers and events in the order they happened, and the registration of an
 * expected order (PUT) when it came before any of them. A notification and the event it caused
 * share their transaction's timestamp: one without such an event changed nothing.
 */
function Timeline({ order, notifications, events }: { order: Order; notifications: Notification[]; events: OrderEvent[] }) {
  const moments = new Set(events.map((event) => event.createdAt));
  const finalBefore = (at: string) =>
    events
      .filter((event) => Date.parse(event.createdAt) < Date.parse(at))
      .map((event) => stateOf(event))
      .filter((state) => state !== undefined && FINAL_STATES.has(state))
      .at(-1);
  const firstReport = Math.min(...notifications.map((notification) => Date.parse(notification.firstReceivedAt)));
  const registeredFirst = order.expectedAmount !== null && !(firstReport <= Date.parse(order.createdAt));
  const entries: Entry[] = [
    ...(registeredFirst ? [{ at: order.createdAt, registered: order }] : []),
    ...notifications.map((notification) => ({
      at: notification.firstReceivedAt,
      notification,
      effect: moments.has(notification.firstReceivedAt)
        ? ({ moved: true } as const)
        : ({ moved: false, finalState: finalBefore(notification.firstReceivedAt) } as const),
    })),
    ...events.map((event) => ({ at: event.createdAt, event })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  if (entries.length === 0) return <p class="muted">Nothing yet.</p>;
  return (
    <ol class="timeline">
      {entries.map((entry) =>
        'registered' in entry ? (
          <RegisteredEntry key="registered" order={entry.registered} />
        ) : 'notification' in entry ? (
          <NotificationEntry key={entry.notification.id} notification={entry.notification} effect={entry.effect} />
        ) : (
          <EventEntry key={entry.event.id} event={entry.event} />
        ),
      )}
    </ol>
  );
}

function stateOf(event: OrderEvent): string | undefined {
  const data = event.data as { state?: unknown } | null;
  return typeof data?.state === 'string' ? data.state : undefined;
}

function RegisteredEntry({ order }: { order: Order }) {
  return (
    <li class="entry entry-registered">
      <p class="entry-head">
        <Time value={order.createdAt} /> <strong>Registered</strong> by an operator (PUT), expecting{' '}
        <Money minor={order.expectedAmount} currency={order.currency} />
      </p>
    </li>
  );
}

function NotificationEntry({ notification, effect }: { notification: Notification; effect: Effect }) {
  const isQuery = notification.source === 'query';
  const state = rawStateOf(notification.request);
  return (
    <li class={`entry entry-${isQuery ? 'query' : 'notification'}`}>
      <p class="entry-head">
        <Time value={notification.firstReceivedAt} /> <strong>{isQuery ? 'Query answer' : 'Notification'}</strong>{' '}
        <span class={`badge status-${notification.status}`}>{notification.status}</span>
        {state !== undefined && (
          <>
            {' '}
            reported <span class="badge">{state}</span>
          </>
        )}
        {notification.status === 'accepted' && !effect.moved && (
          <span class="muted">
            {' '}
            {effect.finalState === undefined
              ? '— changed nothing (the order was already in that state)'
              : `— too late, changed nothing: the order was already ${effect.finalState}`}
          </span>
        )}
      </p>
      <dl class="inline">
        {notification.reason !== null && (
          <>
            <dt>Reason</dt>
            <dd>{notification.reason}</dd>
          </>
        )}
        <dt>Id</dt>
        <dd>{notification.id}</dd>
        <dt>Message id</dt>
        <dd>{notification.msgId ?? '—'}</dd>
        <dt>Received</dt>
        <dd>
          {notification.deliveryCount} {notification.deliveryCount === 1 ? 'time' : 'times'}, last <Time value={notification.lastReceivedAt} />
        </dd>
      </dl>
      <details>
        <summary>Raw request</summary>
        <pre>{prettyJson(notification.request)}</pre>
      </details>
    </li>
  );
}

function EventEntry({ event }: { event: OrderEvent }) {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return (
    <li class="entry entry-event">
      <p class="entry-head">
        <Time value={event.createdAt} /> <strong>Event</strong> {event.type}
        {text(data.state) !== undefined && (
          <>
            {': '}
            {text(data.previousState) ?? 'new'} → <span class="badge">{text(data.state)}</span>
          </>
        )}
        {text(data.source) !== undefined && <> (from {text(data.source) === 'query' ? 'a query' : 'a notification'})</>}
      </p>
      <dl class="inline">
        <dt>Event id</dt>
        <dd>{event.id}</dd>
      </dl>
      <details>
        <summary>Event data</summary>
        <pre>{prettyJson(event.data)}</pre>
      </details>
    </li>
  );
}

function DeliveryView({ delivery, onRetried }: { delivery: Delivery; onRetried: (notice: string) => void }) {
  return (
    <article class="delivery" aria-label={`Delivery ${delivery.id}`}>
      <p class="entry-head">
        <strong>{delivery.id}</strong> to <span class="url">{delivery.url}</span> <span class={`badge delivery-${delivery.status}`}>{delivery.status}</span>
      </p>
      <dl class="inline">
        <dt>Event</dt>
        <dd>{delivery.eventId}</dd>
        <dt>Attempts</dt>
        <dd>{delivery.attempts}</dd>
        <dt>Last error</dt>
        <dd>{delivery.lastError ?? '—'}</dd>
        {delivery.heldBy !== undefined && delivery.heldBy !== null && (
          <>
            <dt>Held by</dt>
            <dd>{delivery.heldBy}: an earlier event of this order to this destination is not delivered yet</dd>
          </>
        )}
        {delivery.nextAttemptAt !== null && (
          <>
            <dt>Next attempt</dt>
            <dd>
              <Time value={delivery.nextAttemptAt} />
            </dd>
          </>
        )}
        {delivery.deliveredAt !== null && (
          <>
            <dt>Delivered</dt>
            <dd>
              <Time value={delivery.deliveredAt} />
            </dd>
          </>
        )}
      </dl>
      {delivery.status === 'dead' && <RetryButton delivery={delivery} onRetried={onRetried} />}
      {(delivery.attemptLog ?? []).length > 0 && (
        <div class="scroll">
          <table class="attempts">
            <caption>Attempts of {delivery.id}</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col" class="number">
                  Duration
                </th>
                <th scope="col" class="number">
                  Status code
                </th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {(delivery.attemptLog ?? []).map((attempt, index) => (
                <tr key={index}>
                  <td>
                    <Time value={attempt.at} />
                  </td>
                  <td class="number">{attempt.durationMs} ms</td>
                  <td class="number">{attempt.statusCode ?? '—'}</td>
                  <td>{attempt.error ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}

/** The provider's own state word, when the request carries one (Starpay trxState, StarPago status). */
function rawStateOf(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const fields = request as Record<string, unknown>;
  for (const name of ['trxState', 'status', 'orderStatus']) {
    const value = fields[name];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return undefined;
}
