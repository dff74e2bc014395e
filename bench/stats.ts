export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles (nearest rank) of latencies in milliseconds, rounded to 0.01 ms. */
export function summarise(latencies: Float64Array): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN);
  let sum = 0;
  for (const value of sorted) sum += value;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), mean: round(sum / sorted.length) };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
