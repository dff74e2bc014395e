import { useState } from 'preact/hooks';
import { api, type Destination } from '../api.js';
import { ErrorNote, Heading, Loading, Time, errorText, useLoad } from '../components.js';
import { useCanOperate } from '../operator.js';

const STATE_TEXT: Record<Destination['state'], string> = {
  healthy: 'healthy',
  open: 'breaker open',
  paused: 'paused',
};

/** Every destination: its state, backlog and breaker, with Pause/Resume and a bulk retry of its dead deliveries. */
export function DestinationsPage() {
  const list = useLoad(() => api.destinations(), 'destinations');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const done = (text: string) => {
    setNotice(text);
    list.reload();
  };
  return (
    <>
      <Heading>Destinations</Heading>
      <p class="muted">
        Where events go. A destination that keeps failing opens its circuit breaker: only a probe is sent until one succeeds. A paused destination gets nothing
        until it is resumed; its deliveries wait and never die.
      </p>
      <p role="status" class={notice === undefined ? 'visually-hidden' : 'ok'}>
        {notice}
      </p>
      {list.loading && list.data === undefined && <Loading />}
      {list.error !== undefined && <ErrorNote title="Could not load the destinations" error={list.error} />}
      {list.data !== undefined &&
        (list.data.items.length === 0 ? (
          <p>No destinations are configured (FORWARD_URLS).</p>
        ) : (
          list.data.items.map((destination) => <DestinationView key={destination.id} destination={destination} onDone={done} />)
        ))}
    </>
  );
}

function DestinationView({ destination, onDone }: { destination: Destination; onDone: (notice: string) => void }) {
  const canOperate = useCanOperate();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');

  async function run(action: () => Promise<string>) {
    setBusy(true);
    setFailure(undefined);
    try {
      onDone(await action());
    } catch (error) {
      setFailure(errorText(error));
    } finally {
      setBusy(false);
    }
  }

  const togglePause = () =>
    run(async () => {
      if (destination.state === 'paused') {
        await api.resumeDestination(destination.id);
        return `${destination.id} resumed: its pending deliveries are due now.`;
      }
      await api.pauseDestination(destination.id);
      return `${destination.id} paused: nothing is sent to it until it is resumed.`;
    });

  const retryDead = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      // datetime-local is the viewer's local time; the service takes instants.
      const { matched } = await api.retryDeadDeliveries({
        destination: destination.id,
        ...(from === '' ? {} : { createdAfter: new Date(from).toISOString() }),
        ...(to === '' ? {} : { createdBefore: new Date(to).toISOString() }),
      });
      return `${matched} dead ${matched === 1 ? 'delivery' : 'deliveries'} to ${destination.id} pending again, in event order.`;
    });
  };

  const label = `destination ${destination.id}`;
  return (
    <section class="destination" aria-label={`Destination ${destination.id}`}>
      <h2 class="entry-head">
        {destination.id} <span class={`badge destination-${destination.state}`}>{STATE_TEXT[destination.state]}</span>
      </h2>
      <p class="url">{destination.url}</p>
      <dl class="inline">
        <dt>Type</dt>
        <dd>{destination.type}</dd>
        <dt>Pending</dt>
        <dd>{destination.pending}</dd>
        <dt>Dead</dt>
        <dd>{destination.dead}</dd>
        <dt>Consecutive failures</dt>
        <dd>{destination.consecutiveFailures}</dd>
        <dt>Last success</dt>
        <dd>
          <Time value={destination.lastSuccessAt} />
        </dd>
        <dt>Last failure</dt>
        <dd>
          <Time value={destination.lastFailureAt} />
        </dd>
        {destination.openedAt !== null && (
          <>
            <dt>Breaker opened</dt>
            <dd>
              <Time value={destination.openedAt} />
            </dd>
          </>
        )}
        {destination.nextProbeAt !== null && (
          <>
            <dt>Next probe</dt>
            <dd>
              <Time value={destination.nextProbeAt} />
            </dd>
          </>
        )}
      </dl>
      {/* Pause/Resume and the bulk retry: only for a token that may take them. */}
      {canOperate && (
        <>
          <div class="actions">
            <button
              type="button"
              class="secondary"
              onClick={() => void togglePause()}
              disabled={busy}
              aria-label={`${destination.state === 'paused' ? 'Resume' : 'Pause'} ${label}`}
            >
              {destination.state === 'paused' ? 'Resume' : 'Pause'}
            </button>
          </div>
          <form class="filters" onSubmit={retryDead} aria-label={`Retry dead deliveries to ${label}`}>
            <label class="field">
              Created from
              <input type="datetime-local" value={from} onInput={(event) => setFrom(event.currentTarget.value)} />
            </label>
            <label class="field">
              Created before
              <input type="datetime-local" value={to} onInput={(event) => setTo(event.currentTarget.value)} />
            </label>
            <div class="actions">
              <button type="submit" disabled={busy || destination.dead === 0}>
                Retry dead deliveries
              </button>
              <span class="muted">Leave a field empty for no bound.</span>
            </div>
          </form>
        </>
      )}
      {failure !== undefined && (
        <p role="alert" class="error">
          {failure}
        </p>
      )}
    </section>
  );
}
