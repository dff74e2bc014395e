-- Indexes for the ops API listings (src/store/orders.ts, notifications.ts, deliveries.ts). Each
-- listing is a keyset page, newest first: every filter below is served by an index scan in the
-- listing's order that stops after `limit + 1` rows, however large the table.

-- Orders are listed by (updated_at DESC, id DESC) and the cursor carries updated_at as the API
-- returns it. The API speaks milliseconds (JS dates), so the columns do too: with microseconds,
-- rows sharing a millisecond could be skipped between pages.
ALTER TABLE orders
  ALTER COLUMN created_at TYPE timestamptz(3),
  ALTER COLUMN updated_at TYPE timestamptz(3);

CREATE INDEX orders_updated_at_idx ON orders (updated_at DESC, id DESC);
CREATE INDEX orders_state_updated_at_idx ON orders (state, updated_at DESC, id DESC);
CREATE INDEX orders_conflict_updated_at_idx ON orders (updated_at DESC, id DESC) WHERE conflict;

-- Notifications are listed by id DESC; accepted ones are nearly all rows, so the primary key
-- serves them. Rejected ones are few and partial-indexed, which costs the ingest path nothing.
CREATE INDEX notifications_rejected_id_idx ON notifications (id DESC) WHERE status = 'rejected';
CREATE INDEX notifications_order_ref_id_idx ON notifications (order_ref, id DESC);

-- Deliveries are listed by id DESC, per status.
CREATE INDEX deliveries_status_id_idx ON deliveries (status, id DESC);
