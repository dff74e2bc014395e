import pg from 'pg';
import { OUTBOX_CHANNEL } from '../../src/store/outbox.js';

/** Listens where the forwarders listen, recording every wake-up, as a test's own connection. */
export async function listenToOutbox(databaseUrl: string): Promise<{ wakeUps: string[]; close(): Promise<void> }> {
  const wakeUps: string[] = [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  client.on('notification', (message) => wakeUps.push(message.channel));
  await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
  return { wakeUps, close: () => client.end() };
}
