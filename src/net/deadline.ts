/**
 * `work`, or a rejection (`timeout after N ms`, or `message`) once `ms` have passed. The work
 * itself is not cancelled: a late broker confirmation after a timeout only means the retry is a
 * duplicate, which at-least-once delivery allows; a silent connection is destroyed by the caller.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, message = `timeout after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    // A late rejection of the abandoned work must not become an unhandled rejection.
    work.catch(() => {});
  }
}
