-- Search by order reference (GET /ops/orders?orderRef=<prefix>). The unique (kind, order_ref)
-- index cannot serve `LIKE 'prefix%'` unless the database collation is exactly "C"; an index with
-- text_pattern_ops compares bytes, so the planner turns the prefix into an index range under any
-- collation. References are unique per kind, so a typed prefix narrows to a few rows at once.
CREATE INDEX orders_order_ref_pattern_idx ON orders (order_ref text_pattern_ops);
