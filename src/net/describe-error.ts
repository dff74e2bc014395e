/**
 * How the service words a failed outbound call, in one place. Broker clients' messages are kept,
 * with the destination's credentials redacted should one appear; an HTTP failure is worded from its code only
 * (describeOutboundError in outbound-http.ts), since undici's messages can quote the URL, which may
 * carry a signature or token.
 */

/** The system error code of a failure or of its cause (`ECONNREFUSED`), if any. */
export function errorCodeOf(error: unknown): string | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  if (typeof code === 'string') return code;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * A failed broker attempt's reason as it may be stored and shown: the error's message (or its
 * code when the message is empty, as for a Node `AggregateError` from a dual-stack connect), with
 * every credential of the destination URL replaced by `***`.
 */
export function describeError(error: unknown, secrets: readonly string[]): string {
  let text = reasonOf(error);
  for (const secret of secrets) {
    // Very short values would blank out ordinary words; brokers do not echo credentials anyway.
    if (secret.length >= 3) text = text.replaceAll(secret, '***');
  }
  return text;
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  const code = errorCodeOf(error);
  if (code !== undefined) return code;
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(reasonOf))].join('; ');
  }
  return error.name;
}

/** The user name, password or token of a URL, raw and percent-decoded. */
export function urlSecrets(url: URL): string[] {
  const values = [url.username, url.password].filter((value) => value !== '');
  return [...new Set([...values, ...values.map(safeDecode)])];
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
