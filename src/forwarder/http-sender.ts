import { Agent, request } from 'undici';

export interface SendResult {
  /** Undefined when no response arrived (connection error, timeout). */
  statusCode?: number;
  retryAfter?: string;
  error?: string;
}

export type Sender = (url: string, headers: Record<string, string>, body: string) => Promise<SendResult>;

/**
 * POSTs with explicit connect, header and body timeouts, and an overall deadline. Redirects are
 * not followed: a 3xx is a failed attempt like any other non-2xx.
 */
export function createHttpSender(timeoutMs: number): { send: Sender; close(): Promise<void> } {
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const send: Sender = async (url, headers, body) => {
    try {
      const response = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Only the status matters; the body is drained so the connection can be reused.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
      const retryAfter = response.headers['retry-after'];
      return { statusCode: response.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter };
    } catch (error) {
      const err = error as Error;
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout/i.test(err.message);
      return { error: timedOut ? `timeout after ${timeoutMs} ms` : err.message };
    }
  };
  return { send, close: () => agent.close() };
}
