import type pg from 'pg';
import type { Notification } from '../domain/provider.js';
import { ingestParameters, type IngestOutcome, type IngestResult, type IngestTargets } from './ingest.js';
import { wakeForwarders } from './outbox.js';
import { contextOf, inSpan, linkTo } from '../telemetry/trace.js';

export interface GroupCommitOptions {
  /** Most notifications written in one transaction. */
  batchMax: number;
  /** Most batches being written at once; notifications arriving meanwhile wait for the next. */
  batchesInFlight: number;
  /** Called after each batch statement with how many notifications it carried and whether it committed. */
  onBatch?: (size: number, committed: boolean) => void;
}

export interface GroupCommit {
  /**
   * Resolves once the notification's batch has committed; rejects if it could not be stored.
   * `traceparent` (tracing on): the request's span, stored with the event for its deliveries.
   */
  ingest(notification: Notification, targets: IngestTargets, traceparent?: string): Promise<IngestResult>;
}

interface Pending {
  parameters: unknown[];
  destinations: readonly string[];
  traceparent: string | undefined;
  resolve(result: IngestResult): void;
  reject(error: unknown): void;
}

/**
 * One statement for a whole batch: each column of ingest_notification()'s parameters as an array,
 * every row's destination ids as one JSON array. Unnamed: a transaction-mode pooler
 * may run the next statement on another server connection, where a named one does not exist.
 */
export const INGEST_BATCH_STATEMENT = {
  text: `SELECT idx, outcome, event_id FROM ingest_notifications(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
    $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], $15::jsonb[], $16::text[], $17::text[],
    $18::jsonb, $19::float8[], $20::text[])`,
} as const;

/** ingest_notification()'s 17 row parameters; the last two (destinations, first query) differ in a batch. */
const ROW_COLUMNS = 17;

/** The parameters of INGEST_BATCH_STATEMENT for notifications in arrival order. */
export function batchParameters(batch: readonly (Pick<Pending, 'parameters' | 'destinations'> & { traceparent?: string | undefined })[]): unknown[] {
  const columns: unknown[][] = Array.from({ length: ROW_COLUMNS }, () => new Array<unknown>(batch.length));
  const firstQuery = new Array<unknown>(batch.length);
  for (let row = 0; row < batch.length; row++) {
    const parameters = (batch[row] as Pending).parameters;
    for (let column = 0; column < ROW_COLUMNS; column++) (columns[column] as unknown[])[row] = parameters[column];
    firstQuery[row] = parameters[ROW_COLUMNS + 1];
  }
  // Tracing off: NULL, and the function stores no trace context.
  const traced = batch.some((entry) => entry.traceparent !== undefined);
  return [...columns, JSON.stringify(batch.map((entry) => entry.destinations)), firstQuery, traced ? batch.map((entry) => entry.traceparent ?? null) : null];
}

/**
 * Group commit: notifications that arrive while batches are being written are written together
 * in the next one, one round trip and one commit for all of them, so the commits (each a WAL
 * flush) and round trips per notification fall as the load rises. An idle service writes a lone
 * notification at once: a batch leaves as soon as the current I/O phase has queued what it read,
 * with no timer. Each caller is answered only after its own batch committed.
 *
 * A batch that fails is written again notification by notification (each as a batch of one, so
 * the same locking order holds), so that one row the database refuses fails only its own request.
 */
export function createGroupCommit(pool: pg.Pool, options: GroupCommitOptions): GroupCommit {
  const { batchMax, batchesInFlight, onBatch } = options;
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const write = (batch: readonly Pending[]): Promise<Map<number, IngestResult>> =>
    // A batch serves several requests' traces: a child of the first, linked to every one.
    inSpan('ingest batch', batchSpanOptions(batch), async () => {
      const { rows } = await pool.query<{ idx: number; outcome: IngestOutcome; event_id: string | null }>({
        ...INGEST_BATCH_STATEMENT,
        values: batchParameters(batch),
      });
      return new Map(rows.map((row) => [row.idx, { outcome: row.outcome, eventId: row.event_id }]));
    });

  const settle = (batch: readonly Pending[], results: Map<number, IngestResult>) => {
    let wake = false;
    batch.forEach((entry, index) => {
      const result = results.get(index + 1);
      if (result === undefined) {
        entry.reject(new Error('ingest_notifications returned no row for a notification'));
        return;
      }
      if (result.eventId !== null && entry.destinations.length > 0) wake = true;
      entry.resolve(result);
    });
    // Committed: deliveries were written for the events, so the forwarders have work.
    if (wake) wakeForwarders(pool);
  };

  const alone = async (entry: Pending) => {
    try {
      const results = await write([entry]);
      onBatch?.(1, true);
      settle([entry], results);
    } catch (error) {
      onBatch?.(1, false);
      entry.reject(error);
    }
  };

  const run = async (batch: Pending[]) => {
    try {
      const results = await write(batch);
      onBatch?.(batch.length, true);
      settle(batch, results);
    } catch (error) {
      onBatch?.(batch.length, false);
      if (batch.length === 1) (batch[0] as Pending).reject(error);
      else await Promise.all(batch.map(alone));
    }
  };

  const flush = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < batchesInFlight) {
      const batch = queue.length <= batchMax ? queue : queue.slice(0, batchMax);
      queue = queue.length <= batchMax ? [] : queue.slice(batchMax);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  };

  // setImmediate, not a timer: it runs once the current I/O phase is over, so the requests read
  // in one phase leave together, and a lone request leaves at once.
  const schedule = () => {
    if (scheduled || queue.length === 0 || inFlight >= batchesInFlight) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    ingest(notification, targets, traceparent) {
      return new Promise<IngestResult>((resolve, reject) => {
        queue.push({ parameters: ingestParameters(notification, targets), destinations: targets.destinations, traceparent, resolve, reject });
        schedule();
      });
    },
  };
}

function batchSpanOptions(batch: readonly Pending[]) {
  const traceparents = batch.flatMap((entry) => (entry.traceparent === undefined ? [] : [entry.traceparent]));
  return {
    attributes: { 'receiver.batch.size': batch.length },
    parent: contextOf(traceparents[0]),
    links: traceparents.flatMap((traceparent) => linkTo(traceparent) ?? []),
  };
}
