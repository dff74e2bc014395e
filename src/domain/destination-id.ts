import { createHash } from 'node:crypto';

export const DESTINATION_ID_PREFIX = 'dst_';

/**
 * The ops API's id of a destination: `dst_` + the first 12 hex digits of the SHA-256 of its
 * redacted URL. The same on every replica and restart, and it survives a password rotation.
 */
export function destinationId(redactedUrl: string): string {
  return DESTINATION_ID_PREFIX + createHash('sha256').update(redactedUrl, 'utf8').digest('hex').slice(0, 12);
}

/** Destination types by URL scheme, as the ops API and the metrics name them. */
const TYPES: Record<string, string> = { 'http:': 'http', 'https:': 'http', 'amqp:': 'amqp', 'amqps:': 'amqp', 'nats:': 'nats' };

export function destinationType(redactedUrl: string): string {
  return TYPES[new URL(redactedUrl).protocol] ?? new URL(redactedUrl).protocol.replace(':', '');
}

/** A configured destination as the ops API and the metrics see it. */
export interface DestinationRef {
  /** dst_… */
  id: string;
  /** The redacted URL: what its deliveries are stored under. */
  url: string;
  type: string;
}

export function destinationRef(redactedUrl: string): DestinationRef {
  return { id: destinationId(redactedUrl), url: redactedUrl, type: destinationType(redactedUrl) };
}
