import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Heading, Loading, Pager, Time, useLoad } from '../components.js';
import { prettyJson } from '../format.js';
import { listHref } from '../router.js';

const ACTIONS = ['delivery.retry', 'deliveries.retry', 'order.reconcile', 'order.register', 'destination.pause', 'destination.resume', 'session.sign_in'];

/** Who did what: every action (allowed or refused) and sign-in, newest first, by actor and action. */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const filters = { actor: query.get('actor') ?? undefined, action: query.get('action') ?? undefined };
  const cursor = query.get('cursor') ?? undefined;
  const page = useLoad(() => api.audit({ ...filters, cursor }), query.toString());
  const [actor, setActor] = useState(filters.actor ?? '');
  const [action, setAction] = useState(filters.action ?? '');

  function apply(event: Event) {
    event.preventDefault();
    window.location.hash = listHref('audit', { actor: actor.trim(), action });
  }

  return (
    <>
      <Heading>Audit log</Heading>
      <p class="muted">Every operator action, allowed or refused, and every sign-in, newest first. Nothing changes or removes a record.</p>
      <form class="filters" onSubmit={apply}>
        <label>
          Actor
          <input type="text" value={actor} placeholder="token name or e-mail" onInput={(event) => setActor(event.currentTarget.value)} />
        </label>
        <label>
          Action
          <select value={action} onChange={(event) => setAction(event.currentTarget.value)}>
            <option value="">any</option>
            {ACTIONS.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {page.loading && page.data === undefined && <Loading />}
      {page.error !== undefined && <ErrorNote title="Could not load the audit log" error={page.error} />}
      {page.data !== undefined &&
        (page.data.items.length === 0 ? (
          <p>No audit records.</p>
        ) : (
          <div class="scroll">
            <table class="cards">
              <caption class="visually-hidden">Audit records, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col" class="number">
                    Status
                  </th>
                  <th scope="col">Details</th>
                  <th scope="col">From</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((record) => (
                  <tr key={record.id} class={record.status >= 400 ? 'refused' : undefined}>
                    <td data-label="When">
                      <Time value={record.at} />
                    </td>
                    <td data-label="Actor">{record.actor}</td>
                    <td data-label="Action">{record.action}</td>
                    <td data-label="Target" class="ref">
                      {record.target ?? '—'}
                    </td>
                    <td data-label="Status" class="number">
                      {record.status}
                    </td>
                    <td data-label="Details">
                      <code>{prettyJson(record.details)}</code>
                    </td>
                    <td data-label="From">{record.ip ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {page.data !== undefined && <Pager list="audit" filters={filters} cursor={cursor} nextCursor={page.data.nextCursor} />}
    </>
  );
}
