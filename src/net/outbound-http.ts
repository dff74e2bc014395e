import { Agent, request } from 'undici';
import { errorCodeOf } from './describe-error.js';

export interface OutboundOptions {
  /** Connect, headers, body and the whole exchange, each. */
  timeoutMs: number;
  /** Largest answer body read; a larger one is a failure (`read: 'body'`) or cut off (`read: 'discard'`). */
  maxAnswerBytes: number;
}

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** `discard`: only the status and headers matter (webhooks); the body is drained for reuse. */
  read: 'body' | 'discard';
}

export type OutboundResult =
  | { ok: true; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  /** `error`: short and credential-free (never the URL, which may carry a signature or token). */
  | { ok: false; error: string };

export interface OutboundClient {
  send(url: string, outbound: OutboundRequest): Promise<OutboundResult>;
  close(): Promise<void>;
}

/**
 * Every request the service makes to a provider's API or a webhook destination: its own
 * connection pool with explicit connect, header and body timeouts and an overall deadline,
 * answers read up to a size cap, and failures described the same way everywhere. Redirects are
 * not followed. Failure is data: `send` never throws.
 */
export function createOutboundClient(options: OutboundOptions): OutboundClient {
  const { timeoutMs, maxAnswerBytes } = options;
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return {
    async send(url, outbound) {
      try {
        const response = await request(url, {
          method: outbound.method,
          headers: outbound.headers,
          body: outbound.body,
          dispatcher: agent,
          signal: AbortSignal.timeout(timeoutMs),
        });
        let body: Buffer = Buffer.alloc(0);
        if (outbound.read === 'discard') await response.body.dump({ limit: maxAnswerBytes }).catch(() => {});
        else body = await readLimited(response.body, maxAnswerBytes);
        return { ok: true, status: response.statusCode, headers: response.headers, body };
      } catch (error) {
        return { ok: false, error: describeOutboundError(error, timeoutMs) };
      }
    },
    close: () => agent.close(),
  };
}

/** `timeout after 10000 ms`, `request failed: ECONNREFUSED`, `answer larger than 262144 bytes`. */
export function describeOutboundError(error: unknown, timeoutMs: number): string {
  if (error instanceof AnswerTooLarge) return error.message;
  const { name, message } = error as { name?: string; message?: string };
  if (name === 'TimeoutError' || name === 'AbortError' || /timeout/i.test(message ?? '')) return `timeout after ${timeoutMs} ms`;
  const code = errorCodeOf(error);
  return code !== undefined ? `request failed: ${code}` : 'request failed';
}

class AnswerTooLarge extends Error {}

async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new AnswerTooLarge(`answer larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
