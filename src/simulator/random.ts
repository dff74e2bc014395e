/** A seeded generator, so that `--seed` replays a run (same orders, msgIds and spellings). */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** `count` decimal digits, the first one not 0. */
  digits(count: number): string;
  /** `count` distinct indexes out of 0..size-1. */
  sample(size: number, count: number): Set<number>;
}

/** mulberry32: tiny, fast and good enough for test data; not for secrets. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('cannot pick from an empty list');
      return items[int(0, items.length - 1)] as T;
    },
    digits: (count) => {
      let text = String(int(1, 9));
      while (text.length < count) text += String(int(0, 9));
      return text;
    },
    sample: (size, count) => {
      const indexes = Array.from({ length: size }, (_, i) => i);
      for (let i = size - 1; i > 0; i--) {
        const j = int(0, i);
        [indexes[i], indexes[j]] = [indexes[j] as number, indexes[i] as number];
      }
      return new Set(indexes.slice(0, Math.max(0, Math.min(size, count))));
    },
  };
}

/** What both providers' plans draw first from a run's seed: the random source, then which orders each chaos share picks (exactly round(share × orders)). */
export function drawChaos(options: { seed: number; orders: number; duplicates: number; outOfOrder: number; forged: number }) {
  const random = seededRandom(options.seed);
  const pick = (share: number) => random.sample(options.orders, Math.round(share * options.orders));
  return { random, duplicated: pick(options.duplicates), late: pick(options.outOfOrder), forged: pick(options.forged) };
}
