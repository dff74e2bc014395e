import { useEffect, useState } from 'preact/hooks';
import { ORDER_STATES } from '../../domain/order-state.js';
import { api, type Order } from '../api.js';
import { ErrorNote, Heading, Loading, Money, Pager, StateBadge, Time, useLoad } from '../components.js';
import { fromLocalInput, toLocalInput } from '../format.js';
import { listHref, orderHref } from '../router.js';

/** Every filter of GET /ops/orders; the hash carries them, so a filtered view can be reloaded or shared. */
const FILTERS = ['provider', 'kind', 'state', 'conflict', 'stale', 'amountMismatch', 'orderRef', 'updatedAfter', 'updatedBefore', 'limit'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function filtersOf(query: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = query.get(name);
    if (value !== null && value !== '') filters[name] = value;
  }
  return filters;
}

export function OrdersPage({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const cursor = query.get('cursor') ?? undefined;
  const key = query.toString();
  const page = useLoad(() => api.orders({ ...filters, cursor }), key);
  return (
    <>
      <Heading>Orders</Heading>
      <FilterForm filters={filters} />
      {page.loading && <Loading />}
      {page.error !== undefined && <ErrorNote title="Could not load the orders" error={page.error} />}
      {page.data !== undefined && (
        <>
          <OrderTable orders={page.data.items} />
          <Pager list="orders" filters={filters} cursor={cursor} nextCursor={page.data.nextCursor} />
        </>
      )}
    </>
  );
}

function FilterForm({ filters }: { filters: Filters }) {
  const [draft, setDraft] = useState<Filters>(filters);
  // The service says which providers and kinds it serves; until it has, only "any".
  const served = useLoad(() => api.providers(), 'providers');
  const providers = served.data?.items ?? [];
  const kinds = providers
    .filter((provider) => draft.provider === undefined || draft.provider === '' || provider.name === draft.provider)
    .flatMap((provider) => provider.kinds.map((entry) => entry.kind));
  const key = JSON.stringify(filters);
  // Back, forward or a link changes the filters under the form.
  useEffect(() => setDraft(filters), [key]);
  const set = (name: keyof Filters) => (event: { currentTarget: { value: string } }) =>
    setDraft((previous) => ({ ...previous, [name]: event.currentTarget.value }));

  function submit(event: Event) {
    event.preventDefault();
    window.location.hash = listHref('orders', { ...draft, orderRef: draft.orderRef?.trim() });
  }

  return (
    <form class="filters" onSubmit={submit} aria-label="Filter orders">
      <div class="field field-wide">
        <label for="f-orderRef">Order reference starts with</label>
        <input id="f-orderRef" type="search" value={draft.orderRef ?? ''} onInput={set('orderRef')} autocomplete="off" />
      </div>
      <Choice id="f-provider" label="Provider" value={draft.provider} options={providers.map((provider) => provider.name)} onChange={set('provider')} />
      <Choice id="f-kind" label="Kind" value={draft.kind} options={kinds} onChange={set('kind')} />
      <Choice id="f-state" label="State" value={draft.state} options={ORDER_STATES} onChange={set('state')} />
      <Flag id="f-conflict" label="Conflict" value={draft.conflict} onChange={set('conflict')} />
      <Flag id="f-stale" label="Stale" value={draft.stale} onChange={set('stale')} />
      <Flag id="f-amountMismatch" label="Amount mismatch" value={draft.amountMismatch} onChange={set('amountMismatch')} />
      <div class="field">
        <label for="f-updatedAfter">Updated after</label>
        <input
          id="f-updatedAfter"
          type="datetime-local"
          step={1}
          value={toLocalInput(draft.updatedAfter)}
          onInput={(event) => setDraft((previous) => ({ ...previous, updatedAfter: fromLocalInput(event.currentTarget.value) }))}
        />
      </div>
      <div class="field">
        <label for="f-updatedBefore">Updated before</label>
        <input
          id="f-updatedBefore"
          type="datetime-local"
          step={1}
          value={toLocalInput(draft.updatedBefore)}
          onInput={(event) => setDraft((previous) => ({ ...previous, updatedBefore: fromLocalInput(event.currentTarget.value) }))}
        />
      </div>
      <div class="field">
        <label for="f-limit">Per page</label>
        <select id="f-limit" value={draft.limit ?? ''} onChange={set('limit')}>
          <option value="">50</option>
          {['10', '100', '500'].map((limit) => (
            <option key={limit} value={limit}>
              {limit}
            </option>
          ))}
          {draft.limit !== undefined && !['', '10', '50', '100', '500'].includes(draft.limit) && <option value={draft.limit}>{draft.limit}</option>}
        </select>
      </div>
      <div class="actions">
        <button type="submit">Apply filters</button>
        <a class="button secondary" href="#/orders">
          Clear filters
        </a>
      </div>
    </form>
  );
}

function Choice(props: {
  id: string;
  label: string;
  value: string | undefined;
  options: readonly string[];
  onChange: (event: { currentTarget: { value: string } }) => void;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value ?? ''} onChange={props.onChange}>
        <option value="">any</option>
        {props.options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </div>
  );
}

function Flag(props: { id: string; label: string; value: string | undefined; onChange: (event: { currentTarget: { value: string } }) => void }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value ?? ''} onChange={props.onChange}>
        <option value="">any</option>
        <option value="true">yes</option>
        <option value="false">no</option>
      </select>
    </div>
  );
}

function OrderTable({ orders }: { orders: Order[] }) {
  if (orders.length === 0) return <p role="status">No orders match.</p>;
  return (
    <div class="scroll">
      <table class="cards">
        <caption class="visually-hidden">Orders, most recently updated first</caption>
        <thead>
          <tr>
            <th scope="col">Order reference</th>
            <th scope="col">Kind</th>
            <th scope="col">State</th>
            <th scope="col" class="number">
              Amount
            </th>
            <th scope="col">Flags</th>
            <th scope="col" class="number">
              Notifications
            </th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((order) => (
            <tr key={`${order.kind}/${order.orderRef}`}>
              <td data-label="Order reference" class="ref">
                <a href={orderHref(order.kind, order.orderRef)}>{order.orderRef}</a>
              </td>
              <td data-label="Kind">
                {order.provider !== undefined && <span class="muted">{order.provider} </span>}
                {order.kind}
              </td>
              <td data-label="State">
                <StateBadge state={order.state} />
              </td>
              <td data-label="Amount" class="number">
                <Money minor={order.amount} currency={order.currency} />
              </td>
              <td data-label="Flags">
                <Flags order={order} />
              </td>
              <td data-label="Notifications" class="number">
                {order.notificationCount}
              </td>
              <td data-label="Updated">
                <Time value={order.updatedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Flags({ order }: { order: Order }) {
  const flags = [order.conflict && 'conflict', order.stale === true && 'stale', order.amountMismatch === true && 'amount mismatch'].filter(
    (flag): flag is string => typeof flag === 'string',
  );
  if (flags.length === 0) return <span class="muted">none</span>;
  return (
    <>
      {flags.map((flag) => (
        <span key={flag} class="badge flag">
          {flag}
        </span>
      ))}
    </>
  );
}
