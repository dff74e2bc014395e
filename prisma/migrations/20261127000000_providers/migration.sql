-- Room for more than one provider, for provider queries, and for any destination type.
-- The SQL functions are no longer written into migrations: each lives in one file under
-- prisma/functions/, which the migrator applies after the migrations (src/store/migrate.ts).

DROP FUNCTION IF EXISTS ingest_notification(text, text, text, text, text, text, bigint, text, text, text, text, jsonb, text, text, text[]);

-- Orders: which provider, StarPago's kinds and REFUNDED, the paid and the expected amount, and the
-- reconciliation state. An order registered by the merchant (PUT /ops/orders/…) has no raw state yet.
ALTER TABLE orders
  ADD COLUMN provider text NOT NULL DEFAULT 'starpay',
  ADD COLUMN paid_amount bigint,
  ADD COLUMN expected_amount bigint,
  ADD COLUMN amount_mismatch boolean NOT NULL DEFAULT false,
  ADD COLUMN stale boolean NOT NULL DEFAULT false,
  ADD COLUMN last_queried_at timestamptz(3),
  -- slots of RECONCILE_SCHEDULE used since the last change
  ADD COLUMN query_slot integer NOT NULL DEFAULT 0,
  ALTER COLUMN raw_state DROP NOT NULL,
  ALTER COLUMN notification_count SET DEFAULT 0,
  DROP CONSTRAINT orders_kind_check,
  ADD CONSTRAINT orders_kind_check CHECK (kind IN ('disbursement', 'repayment', 'static-qr', 'payin', 'payout')),
  DROP CONSTRAINT orders_state_check,
  ADD CONSTRAINT orders_state_check CHECK (state IN ('PENDING', 'SUCCESS', 'FAILED', 'REFUNDED'));
ALTER TABLE orders ALTER COLUMN provider DROP DEFAULT;

CREATE INDEX orders_stale_updated_at_idx ON orders (updated_at DESC, id DESC) WHERE stale;
CREATE INDEX orders_amount_mismatch_updated_at_idx ON orders (updated_at DESC, id DESC) WHERE amount_mismatch;

-- Notifications: which provider, whether a notification or a query answer, and StarPago v3's
-- unverified hints. Refused bodies are keyed 'body:' || hash and unique per kind; everything
-- else (accepted, unverified, and hints later rejected by a query) per order.
ALTER TABLE notifications
  ADD COLUMN provider text NOT NULL DEFAULT 'starpay',
  ADD COLUMN source text NOT NULL DEFAULT 'notification' CHECK (source IN ('notification', 'query')),
  -- the normalised state it reports: what a query answer confirms or contradicts in a hint
  ADD COLUMN state text,
  DROP CONSTRAINT notifications_status_check,
  ADD CONSTRAINT notifications_status_check CHECK (status IN ('accepted', 'rejected', 'unverified')),
  DROP CONSTRAINT notifications_check,
  ADD CONSTRAINT notifications_order_ref_check CHECK (dedup_key LIKE 'body:%' OR order_ref IS NOT NULL);
DROP INDEX notifications_accepted_key;
DROP INDEX notifications_rejected_key;
CREATE UNIQUE INDEX notifications_order_key ON notifications (kind, order_ref, dedup_key) WHERE dedup_key NOT LIKE 'body:%';
CREATE UNIQUE INDEX notifications_refused_key ON notifications (kind, dedup_key) WHERE dedup_key LIKE 'body:%';
ALTER TABLE notifications ALTER COLUMN provider DROP DEFAULT;
CREATE INDEX notifications_unverified_id_idx ON notifications (id DESC) WHERE status = 'unverified';

-- Deliveries name their destination by its URL with credentials replaced by ***: that is its
-- identity (rotating a password keeps it) and nothing secret is stored.
UPDATE deliveries SET url = regexp_replace(url, '^([a-z0-9+.-]+://)[^/@?#]+@', '\1***:***@', 'i') WHERE url ~ '^[a-z0-9+.-]+://[^/@?#]+@';

-- The ordering check asks for earlier deliveries that are pending or dead, and the claim for due
-- pending ones: one partial index each (the old one covered pending only).
DROP INDEX deliveries_order_url_idx;
CREATE INDEX deliveries_order_url_idx ON deliveries (order_id, url, id) WHERE status IN ('pending', 'dead');

-- Provider queries to make: one row per order (or per unverified hint's order reference), so that
-- an order has at most one query in flight across replicas (claimed with SKIP LOCKED and a lease).
CREATE TABLE provider_queries (
  kind        text        NOT NULL,
  order_ref   text        NOT NULL,
  provider    text        NOT NULL,
  due_at      timestamptz NOT NULL,
  lease_until timestamptz,
  -- consecutive answers that said "try later", for the log
  failures    integer     NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT provider_queries_pkey PRIMARY KEY (kind, order_ref)
);
CREATE INDEX provider_queries_due_at_idx ON provider_queries (due_at);
