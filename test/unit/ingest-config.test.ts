import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';

describe('group commit configuration', () => {
  it('defaults to batches of at most 64 notifications, two being written at once', () => {
    expect(loadConfig({}).ingest).toEqual({ batchMax: 64, batchesInFlight: 2 });
  });

  it('takes INGEST_BATCH_MAX and INGEST_BATCHES_IN_FLIGHT, and refuses sizes below one', () => {
    expect(loadConfig({ INGEST_BATCH_MAX: '8', INGEST_BATCHES_IN_FLIGHT: '3' }).ingest).toEqual({ batchMax: 8, batchesInFlight: 3 });
    expect(() => loadConfig({ INGEST_BATCH_MAX: '0', INGEST_BATCHES_IN_FLIGHT: 'two' })).toThrow(/INGEST_BATCH_MAX[\s\S]*INGEST_BATCHES_IN_FLIGHT/);
  });
});
