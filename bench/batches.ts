/** The service's group-commit batch histogram (receiver_ingest_batch_size), committed batches only. */
export interface BatchCounts {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound (`le`). */
  buckets: Record<string, number>;
}

export interface BatchSizes {
  batches: number;
  meanSize: number | null;
  /** Batches by size range, e.g. `"9-16": 40`. */
  bySize: Record<string, number>;
}

/** Reads the histogram from the service's /metrics. */
export async function readBatchCounts(serviceUrl: string): Promise<BatchCounts> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const counts: BatchCounts = { count: 0, sum: 0, buckets: {} };
  for (const line of text.split('\n')) {
    if (!line.startsWith('receiver_ingest_batch_size') || !line.includes('committed="true"')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('receiver_ingest_batch_size_sum')) counts.sum = value;
    else if (line.startsWith('receiver_ingest_batch_size_count')) counts.count = value;
    else {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) counts.buckets[le] = value;
    }
  }
  return counts;
}

/** The batches written between two readings. */
export function batchesBetween(a: BatchCounts, b: BatchCounts): BatchSizes {
  const batches = b.count - a.count;
  const bySize: Record<string, number> = {};
  let previousBound = 0;
  let previousCount = 0;
  for (const le of Object.keys(b.buckets)) {
    const cumulative = (b.buckets[le] ?? 0) - (a.buckets[le] ?? 0);
    const inBucket = cumulative - previousCount;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    const label = bound === Number.POSITIVE_INFINITY ? `>${previousBound}` : previousBound + 1 === bound ? String(bound) : `${previousBound + 1}-${bound}`;
    if (inBucket > 0) bySize[label] = inBucket;
    previousBound = bound;
    previousCount = cumulative;
  }
  return { batches, meanSize: batches > 0 ? Math.round(((b.sum - a.sum) / batches) * 10) / 10 : null, bySize };
}
