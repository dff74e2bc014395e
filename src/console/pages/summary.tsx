import { ORDER_STATES } from '../../domain/order-state.js';
import { api, type Summary } from '../api.js';
import { ErrorNote, Heading, Loading, Time, useLoad } from '../components.js';
import { listHref } from '../router.js';

export function SummaryPage() {
  const summary = useLoad(() => api.summary(), 'summary');
  return (
    <>
      <Heading>Summary</Heading>
      {summary.loading && <Loading />}
      {summary.error !== undefined && <ErrorNote title="Could not load the summary" error={summary.error} />}
      {summary.data !== undefined && <SummaryView summary={summary.data} />}
    </>
  );
}

function SummaryView({ summary }: { summary: Summary }) {
  const kinds = Object.keys(summary.orders);
  return (
    <>
      <section aria-labelledby="attention">
        <h2 id="attention">Needs attention</h2>
        <ul class="tiles">
          <Tile label="Conflicts" count={summary.conflicts} href={listHref('orders', { conflict: 'true' })} />
          <Tile label="Stale orders" count={summary.stale} href={listHref('orders', { stale: 'true' })} />
          <Tile label="Amount mismatches" count={summary.amountMismatches} href={listHref('orders', { amountMismatch: 'true' })} />
          <Tile label="Deliveries pending" count={summary.deliveries.pending} />
          <Tile label="Dead deliveries" count={summary.deliveries.dead} href="#/deliveries" />
        </ul>
      </section>

      <section aria-labelledby="by-state">
        <h2 id="by-state">Orders per kind and state</h2>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                {ORDER_STATES.map((state) => (
                  <th key={state} scope="col" class="number">
                    {state}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {kinds.map((kind) => (
                <tr key={kind}>
                  <th scope="row">{kind}</th>
                  {ORDER_STATES.map((state) => {
                    const count = summary.orders[kind]?.[state] ?? 0;
                    return (
                      <td key={state} class="number" data-label={state}>
                        <a href={listHref('orders', { kind, state })} aria-label={`${count} ${kind} orders ${state}`}>
                          {count}
                        </a>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="last">
        <h2 id="last">Last notification per kind</h2>
        <dl class="fields">
          {Object.entries(summary.lastNotificationAt).map(([kind, at]) => (
            <div key={kind} class="field-row">
              <dt>{kind}</dt>
              <dd>{at === null ? <span class="muted">never</span> : <Time value={at} />}</dd>
            </div>
          ))}
        </dl>
      </section>
    </>
  );
}

function Tile({ label, count, href }: { label: string; count: number; href?: string }) {
  const body = (
    <>
      <span class="tile-count">{count}</span> <span class="tile-label">{label}</span>
    </>
  );
  return <li class={count > 0 ? 'tile tile-alert' : 'tile'}>{href === undefined ? body : <a href={href}>{body}</a>}</li>;
}
