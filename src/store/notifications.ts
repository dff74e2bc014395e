import type { PrismaClient } from '../generated/prisma/client.js';
import { notificationView } from './ops-views.js';
import { toPage, type Page } from './page.js';

export interface NotificationListQuery {
  status?: 'accepted' | 'rejected' | 'unverified' | undefined;
  source?: 'notification' | 'query' | undefined;
  kind?: string | undefined;
  orderRef?: string | undefined;
  /** true: StarPago v3 hints only; false: everything else. */
  hint?: boolean | undefined;
  limit: number;
  /** The id of the previous page's last notification. */
  after?: bigint | undefined;
}

/** Notifications, accepted and rejected, newest first (by id: the order they were first received). */
export async function listNotifications(prisma: PrismaClient, query: NotificationListQuery): Promise<Page<ReturnType<typeof notificationView>, bigint>> {
  const rows = await prisma.notification.findMany({
    where: { status: query.status, source: query.source, kind: query.kind, orderRef: query.orderRef, hint: query.hint, id: { lt: query.after } },
    orderBy: { id: 'desc' },
    take: query.limit + 1,
  });
  return toPage(rows, query.limit, notificationView, (row) => row.id);
}
