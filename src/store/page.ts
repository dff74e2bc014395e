/** One page of a keyset listing: `next` is the sort key of its last row when more rows follow. */
export interface Page<Item, Key> {
  items: Item[];
  next: Key | null;
}

/** Listings fetch `limit + 1` rows: the extra row only says whether another page exists. */
export function toPage<Row, Item, Key>(rows: Row[], limit: number, view: (row: Row) => Item, keyOf: (row: Row) => Key): Page<Item, Key> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return { items: kept.map(view), next: rows.length > limit && last !== undefined ? keyOf(last) : null };
}
