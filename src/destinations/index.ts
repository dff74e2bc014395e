import type { Destination } from '../domain/destination.js';
import { createAmqpDestination } from './amqp.js';
import { createNatsDestination } from './nats.js';

/** What every destination type may need besides its URL. */
export interface DestinationOptions {
  /** Per-attempt deadline. */
  timeoutMs: number;
  /** Standard Webhooks secret; required by http(s) destinations only. */
  webhookSecret?: string | undefined;
}

export type DestinationFactory = (url: URL, options: DestinationOptions) => Destination;

/**
 * Destination types by URL scheme: adding one is a file plus a line here.
 * (Filled in by the destination seam.)
 */
export const DESTINATION_TYPES: Record<string, DestinationFactory> = {
  'amqp:': createAmqpDestination,
  'amqps:': createAmqpDestination,
  'nats:': createNatsDestination,
};
