/** Pause before the n-th consecutive failed attempt is retried: 100 ms, doubling, at most 30 s. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 30_000;

export interface LazyConnection<T> {
  /** The live connection, opening one if there is none; concurrent callers share one attempt. */
  get(): Promise<T>;
  /** The live connection, if any, without opening one. */
  current(): T | undefined;
  /** Waits for an attempt in progress, then forgets the connection and hands it back to close. */
  release(): Promise<T | undefined>;
}

/**
 * A broker connection opened on first use and reopened on the next use after it died. After a
 * failed attempt, callers fail fast with that attempt's reason until the backoff has passed, so a
 * burst of deliveries to a broker that is down does not become a burst of connection attempts.
 */
export function lazyConnection<T>(options: {
  open: () => Promise<T>;
  isAlive: (connection: T) => boolean;
  describe: (error: unknown) => string;
  now?: () => number;
}): LazyConnection<T> {
  const { open, isAlive, describe } = options;
  const now = options.now ?? Date.now;
  let connection: T | undefined;
  let opening: Promise<T> | undefined;
  let failures = 0;
  let retryAt = 0;
  let lastError = '';

  const current = () => (connection !== undefined && isAlive(connection) ? connection : undefined);

  return {
    current,
    get() {
      const live = current();
      if (live !== undefined) return Promise.resolve(live);
      if (opening !== undefined) return opening;
      const waitMs = retryAt - now();
      if (waitMs > 0) return Promise.reject(new Error(`${lastError} (next connection attempt in ${waitMs} ms)`));
      opening = open().then(
        (opened) => {
          failures = 0;
          opening = undefined;
          connection = opened;
          if (!isAlive(opened)) throw new Error('connection closed while opening');
          return opened;
        },
        (error: unknown) => {
          failures += 1;
          retryAt = now() + Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_MAX_MS);
          lastError = describe(error);
          opening = undefined;
          throw error;
        },
      );
      return opening;
    },
    async release() {
      await opening?.catch(() => {});
      const last = connection;
      connection = undefined;
      return last;
    },
  };
}
