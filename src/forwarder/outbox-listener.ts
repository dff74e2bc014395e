import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { OUTBOX_CHANNEL } from '../store/outbox.js';
import { withDeadline } from '../net/deadline.js';

export interface OutboxListenerDeps {
  /** Direct (not pooled) connections: LISTEN does not survive a transaction-mode pooler. */
  listenPool: pg.Pool;
  /** Called on every notification, and when the connection is lost (so the loop listens again). */
  wake: () => void;
  logger: FastifyBaseLogger;
  /** How often the connection is checked with a round trip (a failover can kill it silently). */
  checkMs: number;
}

export interface OutboxListener {
  /** LISTENs if not listening yet; a failure is logged (the forwarder then polls) and tried again on the next call. */
  ensure(): Promise<void>;
  /** Starts the periodic check. */
  start(): void;
  /** Stops the check, UNLISTENs and gives the connection back. */
  stop(): Promise<void>;
}

/**
 * The forwarder's wake-up line: one connection LISTENing on the outbox channel, so that commits in
 * any replica wake this one at once. The connection is replaced when it errors, when a LISTEN is
 * not answered, or when the periodic round trip fails or does not come back in time.
 */
export function createOutboxListener(deps: OutboxListenerDeps): OutboxListener {
  const { listenPool, wake, logger, checkMs } = deps;
  const answerMs = Math.min(checkMs, 5_000);
  let listener: { client: pg.PoolClient; release(error?: Error): void } | undefined;
  let checkTimer: NodeJS.Timeout | undefined;

  async function ensure(): Promise<void> {
    if (listener !== undefined) return;
    try {
      const client = await listenPool.connect();
      // Released once, whichever comes first: an error on the connection (it may report more
      // than one, a database shutting down does), or stop().
      let released = false;
      const own = {
        client,
        release(error?: Error) {
          if (released) return;
          released = true;
          if (listener === own) listener = undefined;
          // The pool lends this client again later: without its listeners.
          client.removeListener('notification', wake);
          client.removeListener('error', onError);
          // A dropped connection may still report the socket's end; that must not crash the process.
          if (error !== undefined) client.on('error', () => {});
          // A silently dead socket would never finish a polite close: drop it.
          if (error !== undefined) destroySocket(client);
          client.release(error);
          // The loop listens again on its next turn; make that turn now.
          if (error !== undefined) wake();
        },
      };
      const onError = (error: Error) => {
        logger.warn({ err: error }, 'forwarder lost its LISTEN connection');
        own.release(error);
      };
      client.on('notification', wake);
      client.on('error', onError);
      try {
        // Bounded like the check: a LISTEN sent into a dead connection would hold the loop for ever.
        await withDeadline(client.query(`LISTEN ${OUTBOX_CHANNEL}`), answerMs, 'LISTEN was not answered');
      } catch (error) {
        own.release(error as Error);
        throw error;
      }
      listener = own;
    } catch (error) {
      logger.warn({ err: error }, 'forwarder cannot LISTEN; polling');
    }
  }

  /**
   * A failover (RDS, Patroni) can leave the LISTEN connection open but dead, with no error ever:
   * no notification would arrive again. A round trip now and then proves it alive; a connection
   * that fails it or does not answer in time is replaced.
   */
  async function check(): Promise<void> {
    const own = listener;
    if (own === undefined) {
      // Not listening (the database was unreachable, or a LISTEN failed): the loop tries again now.
      wake();
      return;
    }
    try {
      await withDeadline(own.client.query('SELECT 1'), answerMs, 'LISTEN connection did not answer');
    } catch (error) {
      logger.warn({ err: error }, 'forwarder LISTEN connection is dead; replacing it');
      own.release(error as Error);
    }
  }

  return {
    ensure,
    start() {
      checkTimer = setInterval(() => void check(), checkMs);
      checkTimer.unref();
    },
    async stop() {
      clearInterval(checkTimer);
      const own = listener;
      if (own === undefined) return;
      await own.client.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => {});
      own.release();
    },
  };
}

function destroySocket(client: pg.PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
