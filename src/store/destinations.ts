import type pg from 'pg';
import type { DestinationRef } from '../domain/destination-id.js';
import { recordAudit, type AuditEntryOf } from './audit.js';
import { DESTINATION_REMOVED, wakeForwarders } from './outbox.js';
import { inTransaction } from './transaction.js';

export type DestinationState = 'healthy' | 'open' | 'paused';

/** One destination's health and backlog, as GET /ops/destinations shows it. */
export interface DestinationView {
  id: string;
  url: string;
  type: string;
  state: DestinationState;
  pending: number;
  dead: number;
  consecutiveFailures: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  openedAt: string | null;
  nextProbeAt: string | null;
}

interface HealthRow {
  url: string;
  paused: boolean;
  consecutive_failures: number;
  opened_at: Date | null;
  next_probe_at: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
}

/** Paused wins over an open breaker: nothing is attempted, not even a probe. */
export function stateOf(row: Pick<HealthRow, 'paused' | 'opened_at'> | undefined): DestinationState {
  if (row === undefined) return 'healthy';
  if (row.paused) return 'paused';
  return row.opened_at === null ? 'healthy' : 'open';
}

/** Gives every configured destination its health row (a new one is healthy); existing rows are kept. */
export async function registerDestinations(pool: pg.Pool, destinations: readonly DestinationRef[]): Promise<void> {
  if (destinations.length === 0) return;
  await pool.query(`INSERT INTO destinations (url, id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (url) DO NOTHING`, [
    destinations.map((destination) => destination.url),
    destinations.map((destination) => destination.id),
  ]);
}

/** Health and pending/dead counts of the given destinations, in their order. */
export async function describeDestinations(pool: pg.Pool, destinations: readonly DestinationRef[]): Promise<DestinationView[]> {
  const urls = destinations.map((destination) => destination.url);
  const [health, counts] = await Promise.all([
    pool.query<HealthRow>(
      `SELECT url, paused, consecutive_failures, opened_at, next_probe_at, last_success_at, last_failure_at
       FROM destinations WHERE url = ANY($1::text[])`,
      [urls],
    ),
    pool.query<{ url: string; pending: number; dead: number }>(
      `SELECT url, count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'dead')::int AS dead
       FROM deliveries WHERE status IN ('pending', 'dead') AND url = ANY($1::text[]) GROUP BY url`,
      [urls],
    ),
  ]);
  const healthBy = new Map(health.rows.map((row) => [row.url, row]));
  const countsBy = new Map(counts.rows.map((row) => [row.url, row]));
  return destinations.map((destination) => {
    const row = healthBy.get(destination.url);
    const state = stateOf(row);
    return {
      id: destination.id,
      url: destination.url,
      type: destination.type,
      state,
      pending: countsBy.get(destination.url)?.pending ?? 0,
      dead: countsBy.get(destination.url)?.dead ?? 0,
      consecutiveFailures: row?.consecutive_failures ?? 0,
      lastSuccessAt: row?.last_success_at?.toISOString() ?? null,
      lastFailureAt: row?.last_failure_at?.toISOString() ?? null,
      openedAt: row?.opened_at?.toISOString() ?? null,
      nextProbeAt: state === 'open' ? (row?.next_probe_at?.toISOString() ?? null) : null,
    };
  });
}

/** States of the given destinations (for the metrics), by destination id. */
export async function destinationStates(pool: pg.Pool, destinations: readonly DestinationRef[]): Promise<Map<string, DestinationState>> {
  const { rows } = await pool.query<HealthRow>(`SELECT url, paused, opened_at FROM destinations WHERE url = ANY($1::text[])`, [
    destinations.map((destination) => destination.url),
  ]);
  const byUrl = new Map(rows.map((row) => [row.url, row]));
  return new Map(destinations.map((destination) => [destination.id, stateOf(byUrl.get(destination.url))]));
}

/**
 * Pauses or resumes a destination, for every replica, with its audit record in the same
 * transaction. Resuming makes its pending deliveries due now (and wakes the forwarders, after the
 * commit).
 */
export async function setPaused(pool: pg.Pool, destination: DestinationRef, paused: boolean, audit: AuditEntryOf): Promise<void> {
  await inTransaction(pool, async (client) => {
    const before = await client.query<{ paused: boolean }>('SELECT paused FROM destinations WHERE url = $1 FOR UPDATE', [destination.url]);
    await client.query(`INSERT INTO destinations (url, id, paused) VALUES ($1, $2, $3) ON CONFLICT (url) DO UPDATE SET paused = excluded.paused`, [
      destination.url,
      destination.id,
      paused,
    ]);
    const madeDue = paused
      ? 0
      : ((
          await client.query(`UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending' AND url = $1 AND next_attempt_at > now()`, [
            destination.url,
          ])
        ).rowCount ?? 0);
    await recordAudit(client, audit({ wasPaused: before.rows[0]?.paused ?? false, paused, ...(paused ? {} : { madeDue }) }));
  });
  if (!paused) wakeForwarders(pool);
}

export interface DeadDeliveryFilter {
  /** The destination's redacted URL. */
  url: string;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
  provider?: string | undefined;
  kind?: string | undefined;
}

/** Dead deliveries retried per statement: each batch is its own short transaction. */
export const RETRY_BATCH_SIZE = 1_000;

/** How many dead deliveries match the filter now. */
export async function countDeadDeliveries(pool: pg.Pool, filter: DeadDeliveryFilter): Promise<number> {
  const { rows } = await pool.query<{ n: number }>({
    text: `SELECT count(*)::int AS n FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE ${DEAD_MATCH}`,
    values: filterValues(filter),
  });
  return rows[0]?.n ?? 0;
}

/** $1 url, $2 createdAfter, $3 createdBefore, $4 provider, $5 kind (nulls match everything). */
const DEAD_MATCH = `d.status = 'dead' AND d.url = $1
  AND ($2::timestamptz IS NULL OR d.created_at >= $2) AND ($3::timestamptz IS NULL OR d.created_at < $3)
  AND ($4::text IS NULL OR o.provider = $4) AND ($5::text IS NULL OR o.kind = $5)`;

function filterValues(filter: DeadDeliveryFilter): unknown[] {
  return [filter.url, filter.createdAfter ?? null, filter.createdBefore ?? null, filter.provider ?? null, filter.kind ?? null];
}

/**
 * Makes every dead delivery matching the filter pending and due now, a batch at a time in id
 * (= event) order, so no transaction grows with the backlog and each order's events keep their
 * order. Earlier dead deliveries of the same orders to the destination come along, as with a single
 * retry: otherwise they would hold the retried ones back. Returns how many matched deliveries were
 * made pending; a second run matches only what is still dead.
 */
export async function retryDeadDeliveries(pool: pg.Pool, filter: DeadDeliveryFilter, audit: AuditEntryOf, batchSize = RETRY_BATCH_SIZE): Promise<number> {
  let after = 0;
  let retried = 0;
  for (;;) {
    const last = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ retried: number; last: number | null; scanned: number }>({
        text: RETRY_BATCH,
        values: [...filterValues(filter), after, batchSize],
      });
      const row = rows[0];
      retried += row?.retried ?? 0;
      after = row?.last ?? after;
      const final = row === undefined || row.last === null || row.scanned < batchSize;
      // The record commits with the batch that ends the action, saying how many it matched in all.
      if (final) await recordAudit(client, audit({ matched: retried }));
      return final;
    });
    // After each commit, so that the forwarders start on the first batch while the rest follow.
    wakeForwarders(pool);
    if (last) return retried;
  }
}

/** One batch of the bulk retry: $1–$5 the filter, $6 the last id done, $7 the batch size. */
const RETRY_BATCH = `
  WITH batch AS (
    SELECT d.id, d.order_id FROM deliveries d JOIN orders o ON o.id = d.order_id
    WHERE ${DEAD_MATCH} AND d.id > $6
    ORDER BY d.id LIMIT $7
    FOR UPDATE OF d
  ), retried AS (
    UPDATE deliveries d SET status = 'pending', next_attempt_at = now(), lease_until = NULL
    FROM batch WHERE d.id = batch.id AND d.status = 'dead'
    RETURNING d.id
  ), earlier AS (
    UPDATE deliveries e SET status = 'pending', next_attempt_at = now(), lease_until = NULL
    FROM batch b
    WHERE e.order_id = b.order_id AND e.url = $1 AND e.id < b.id AND e.status = 'dead'
      AND e.id NOT IN (SELECT id FROM batch)
      AND e.last_error IS DISTINCT FROM '${DESTINATION_REMOVED}'
    RETURNING e.id
  )
  SELECT (SELECT count(*) FROM retried)::int AS retried, (SELECT max(id) FROM batch) AS last,
         (SELECT count(*) FROM batch)::int AS scanned, (SELECT count(*) FROM earlier)::int AS earlier`;
