import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Heading, Loading, Pager, useLoad } from '../components.js';
import { orderHref } from '../router.js';
import { RetryButton } from './retry-button.js';

/** Deliveries that ran out of attempts, newest first, each with a Retry button. */
export function DeadDeliveriesPage({ query }: { query: URLSearchParams }) {
  const cursor = query.get('cursor') ?? undefined;
  const page = useLoad(() => api.deliveries({ status: 'dead', cursor }), query.toString());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const retried = (text: string) => {
    setNotice(text);
    page.reload();
  };
  return (
    <>
      <Heading>Dead deliveries</Heading>
      <p class="muted">Events a destination did not accept within the allowed attempts. Retry sends one again now.</p>
      <p role="status" class={notice === undefined ? 'visually-hidden' : 'ok'}>
        {notice}
      </p>
      {page.loading && page.data === undefined && <Loading />}
      {page.error !== undefined && <ErrorNote title="Could not load the deliveries" error={page.error} />}
      {page.data !== undefined &&
        (page.data.items.length === 0 ? (
          <p>No dead deliveries.</p>
        ) : (
          <div class="scroll">
            <table class="cards">
              <caption class="visually-hidden">Dead deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Delivery</th>
                  <th scope="col">Order</th>
                  <th scope="col">Destination</th>
                  <th scope="col">Event</th>
                  <th scope="col" class="number">
                    Attempts
                  </th>
                  <th scope="col">Last error</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((delivery) => (
                  <tr key={delivery.id}>
                    <td data-label="Delivery">{delivery.id}</td>
                    <td data-label="Order" class="ref">
                      {delivery.kind !== undefined && delivery.orderRef !== undefined ? (
                        <a href={orderHref(delivery.kind, delivery.orderRef)}>{delivery.orderRef}</a>
                      ) : (
                        <span class="muted">—</span>
                      )}
                    </td>
                    <td data-label="Destination" class="url">
                      {delivery.url}
                    </td>
                    <td data-label="Event">{delivery.eventId}</td>
                    <td data-label="Attempts" class="number">
                      {delivery.attempts}
                    </td>
                    <td data-label="Last error">{delivery.lastError ?? '—'}</td>
                    <td data-label="Action">
                      <RetryButton delivery={delivery} onRetried={retried} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {page.data !== undefined && <Pager list="deliveries" cursor={cursor} nextCursor={page.data.nextCursor} />}
    </>
  );
}
