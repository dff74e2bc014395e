import { useState } from 'preact/hooks';
import { api, type Delivery } from '../api.js';
import { errorText } from '../components.js';
import { useCanOperate } from '../operator.js';

/**
 * Attempts a dead delivery again now. Success is reported through `onRetried` (the page shows it,
 * since the reloaded delivery is no longer dead and this button goes away); a failure shows here.
 */
export function RetryButton({ delivery, onRetried }: { delivery: Delivery; onRetried: (notice: string) => void }) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const canOperate = useCanOperate();

  async function retry() {
    setBusy(true);
    setFailure(undefined);
    try {
      await api.retryDelivery(delivery.id);
      onRetried(`Retry requested: ${delivery.id} is pending again and will be attempted now.`);
    } catch (error) {
      setFailure(`Retry failed: ${errorText(error)}`);
    } finally {
      setBusy(false);
    }
  }

  if (!canOperate) return null;
  return (
    <div class="actions">
      <button type="button" onClick={() => void retry()} disabled={busy} aria-label={`Retry delivery ${delivery.id}`}>
        {busy ? 'Retrying…' : 'Retry'}
      </button>
      {failure !== undefined && (
        <p role="alert" class="error">
          {failure}
        </p>
      )}
    </div>
  );
}
