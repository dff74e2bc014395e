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

const withEventId = { event: { select: { publicId: true } } } as const;

/** Deliveries, newest first; served by deliveries_status_id_idx or the primary key. */
export async function listDeliveries(prisma: PrismaClient, query: DeliveryListQuery): Promise<Page<ReturnType<typeof deliveryView>, bigint>> {
  const rows = await prisma.delivery.findMany({
    where: { status: query.status, id: { lt: query.after } },
    include: withEventId,
    orderBy: { id: 'desc' },
    take: query.limit + 1,
  });
  return toPage(rows, query.limit, deliveryView, (row) => row.id);
}

export type RetryResult = { retried: ReturnType<typeof deliveryView> } | 'not-found' | 'already-delivered' | 'destination-removed';

/**
 * Makes a dead or pending delivery due now, with the dead ones of its order before it, and wakes
 * the forwarders; `attempts` is kept, so the history stays true. A retry done is audited in its
 * transaction by `audit` (given what changed).
 */
export async function retryDelivery(
  db: Database,
  id: bigint,
  destinations: readonly string[],
  audit: AuditEntryOf,
): Promise<RetryResult> {
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
    const retried = deliveryView(await tx.delivery.findUniqueOrThrow({ where: { id }, include: withEventId }));
    await recordAudit(tx, audit({ previousStatus: before[0]?.status ?? null, status: retried.status, earlierDeadRetried: earlier }));
    return { retried };
  });
  // After the commit, never inside the transaction (src/store/outbox.ts says why).
  if (typeof result === 'object') wakeForwarders(db.pool);
  return result;
}
