import type { PrismaClient } from '../generated/prisma/client.js';
import { recordAudit, type AuditEntryOf } from './audit.js';
import { deliveryView } from './ops-views.js';
import type { Database } from './database.js';
import { DESTINATION_REMOVED, wakeForwarders } from './outbox.js';
import { toPage, type Page } from './page.js';

export interface DeliveryListQuery {
  status?: 'pending' | 'delivered' | 'dead' | undefined;
  limit: number;
  /** The id of the previous page's last delivery. */
  after?: bigint | undefined;
}

const withEventId = {
  event: { select: { publicId: true } },
  order: { select: { provider: true, kind: true, orderRef: true } },
} as const;

/**
 * For each pending delivery among `deliveries`, the earliest undelivered (pending or dead) delivery
 * of the same order to the same destination that it waits behind (src/store/outbox.ts HELD_BACK).
 */
export async function heldByOf(prisma: Pick<PrismaClient, '$queryRaw'>, deliveries: readonly { id: bigint; status: string }[]): Promise<Map<bigint, bigint>> {
  const pending = deliveries.filter((delivery) => delivery.status === 'pending').map((delivery) => delivery.id);
  if (pending.length === 0) return new Map();
  const rows = await prisma.$queryRaw<{ id: bigint; held_by: bigint | null }[]>`
    SELECT d.id, (SELECT min(earlier.id) FROM deliveries earlier
                  WHERE earlier.order_id = d.order_id AND earlier.url = d.url
                    AND earlier.status IN ('pending', 'dead') AND earlier.id < d.id
                    AND earlier.last_error IS DISTINCT FROM ${DESTINATION_REMOVED}) AS held_by
    FROM deliveries d WHERE d.id = ANY(${pending}::bigint[])`;
  return new Map(rows.filter((row) => row.held_by !== null).map((row) => [BigInt(row.id), BigInt(row.held_by as bigint)]));
}

/** Deliveries, newest first; served by deliveries_status_id_idx or the primary key. */
export async function listDeliveries(prisma: PrismaClient, query: DeliveryListQuery): Promise<Page<ReturnType<typeof deliveryView>, bigint>> {
  const rows = await prisma.delivery.findMany({
    where: { status: query.status, id: { lt: query.after } },
    include: withEventId,
    orderBy: { id: 'desc' },
    take: query.limit + 1,
  });
  const held = await heldByOf(prisma, rows);
  return toPage(
    rows,
    query.limit,
    (row) => deliveryView(row, held.get(row.id)),
    (row) => row.id,
  );
}

export type RetryResult = { retried: ReturnType<typeof deliveryView> } | 'not-found' | 'already-delivered' | 'destination-removed';

/**
 * Makes a dead or pending delivery due now, with the dead ones of its order before it, and wakes
 * the forwarders; `attempts` is kept, so the history stays true. A retry done is audited in its
 * transaction by `audit` (given what changed).
 */
export async function retryDelivery(db: Database, id: bigint, destinations: readonly string[], audit: AuditEntryOf): Promise<RetryResult> {
  const result = await db.prisma.$transaction(async (tx): Promise<RetryResult> => {
    const before = await tx.$queryRaw<{ status: string }[]>`SELECT status FROM deliveries WHERE id = ${id} FOR UPDATE`;
    // The database's clock, not the app's: the forwarder compares next_attempt_at with now().
    const updated = await tx.$executeRaw`
      UPDATE deliveries SET status = 'pending', next_attempt_at = now(),
        -- a worker holding a live lease is mid-attempt: let it finish rather than send twice
        lease_until = CASE WHEN lease_until > now() THEN lease_until END
      WHERE id = ${id} AND status <> 'delivered' AND url = ANY(${destinations as string[]}::text[])`;
    if (updated === 0) {
      const existing = await tx.delivery.findUnique({ where: { id }, select: { status: true } });
      if (existing === null) return 'not-found';
      // Nobody would ever send it: its destination is not in FORWARD_URLS.
      return existing.status === 'delivered' ? 'already-delivered' : 'destination-removed';
    }
    // Earlier dead deliveries of the same order to the same destination would hold this one back
    // (events go out in order): they are retried with it, so that "now" means now.
    const earlier = await tx.$executeRaw`
      UPDATE deliveries earlier SET status = 'pending', next_attempt_at = now()
      FROM deliveries d
      WHERE d.id = ${id} AND earlier.order_id = d.order_id AND earlier.url = d.url AND earlier.id < d.id
        AND earlier.status = 'dead' AND earlier.last_error IS DISTINCT FROM ${DESTINATION_REMOVED}`;
    const retriedRow = await tx.delivery.findUniqueOrThrow({ where: { id }, include: withEventId });
    const retried = deliveryView(retriedRow, (await heldByOf(tx, [retriedRow])).get(retriedRow.id));
    await recordAudit(tx, audit({ previousStatus: before[0]?.status ?? null, status: retried.status, earlierDeadRetried: earlier }));
    return { retried };
  });
  // After the commit, never inside the transaction (src/store/outbox.ts says why).
  if (typeof result === 'object') wakeForwarders(db.pool);
  return result;
}
