import { api } from '../api.js';
import { ErrorNote, Heading, Loading, Pager, Time, useLoad } from '../components.js';
import { prettyJson } from '../format.js';

/** Refused requests kept for forensics: what arrived and why it was refused. */
export function RejectedNotificationsPage({ query }: { query: URLSearchParams }) {
  const cursor = query.get('cursor') ?? undefined;
  const page = useLoad(() => api.notifications({ status: 'rejected', hint: 'false', cursor }), query.toString());
  return (
    <>
      <Heading>Rejected notifications</Heading>
      <p class="muted">
        Requests the service refused (bad signature, wrong merchant, malformed…), newest first. StarPago v3 hints that a query answer contradicted are not
        refusals: each shows on its order's page.
      </p>
      {page.loading && <Loading />}
      {page.error !== undefined && <ErrorNote title="Could not load the notifications" error={page.error} />}
      {page.data !== undefined &&
        (page.data.items.length === 0 ? (
          <p>No rejected notifications.</p>
        ) : (
          <ol class="timeline">
            {page.data.items.map((notification) => (
              <li key={notification.id} class="entry entry-rejected">
                <p class="entry-head">
                  <Time value={notification.lastReceivedAt} /> <strong>{notification.kind}</strong>{' '}
                  <span class="badge status-rejected">{notification.reason ?? 'rejected'}</span>
                </p>
                <dl class="inline">
                  <dt>Reason</dt>
                  <dd>{notification.reason ?? '—'}</dd>
                  <dt>Order reference</dt>
                  <dd class="ref">{notification.orderRef ?? '—'}</dd>
                  <dt>Message id</dt>
                  <dd>{notification.msgId ?? '—'}</dd>
                  <dt>Id</dt>
                  <dd>{notification.id}</dd>
                  <dt>Received</dt>
                  <dd>
                    {notification.deliveryCount} {notification.deliveryCount === 1 ? 'time' : 'times'}, first <Time value={notification.firstReceivedAt} />
                  </dd>
                </dl>
                <details>
                  <summary>Raw request</summary>
                  <pre>{prettyJson(notification.request)}</pre>
                </details>
              </li>
            ))}
          </ol>
        ))}
      {page.data !== undefined && <Pager list="notifications" cursor={cursor} nextCursor={page.data.nextCursor} />}
    </>
  );
}
