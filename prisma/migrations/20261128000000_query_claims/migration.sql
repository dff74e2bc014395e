-- When the last unverified hint asked for a query, and when the query was last claimed: a hint
-- that arrives after the claim asks again at once (the answer being recorded may predate it), and
-- only queries due by the schedule use up one of its slots.
ALTER TABLE provider_queries
  ADD COLUMN hint_at timestamptz,
  ADD COLUMN claimed_at timestamptz;

-- GET /ops/summary's last notification per kind: the newest accepted provider notification of
-- a kind, found at the top of this index however many query answers and refusals follow it.
CREATE INDEX notifications_kind_notified_id_idx ON notifications (kind, id DESC) WHERE status = 'accepted' AND source = 'notification';

-- Order kinds are the providers' (src/providers/index.ts): a new provider needs no migration.
ALTER TABLE orders DROP CONSTRAINT orders_kind_check;

-- The search by reference prefix (GET /ops/orders?orderRef=) is planned from order_ref's histogram:
-- with the default 100 buckets the estimate for a narrow prefix swung enough between ANALYZE runs
-- for the planner to walk orders_updated_at_idx through every order instead of the pattern index.
ALTER TABLE orders ALTER COLUMN order_ref SET STATISTICS 1000;
