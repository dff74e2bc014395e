-- Unsigned StarPago v3 hints are told apart from verified notifications for their whole life, not
-- only while unverified: settled ones ('accepted', 'rejected') are pruned like refused requests,
-- and none counts as the last verified notification of its kind.
ALTER TABLE notifications ADD COLUMN hint boolean NOT NULL DEFAULT false;
UPDATE notifications SET hint = true WHERE source = 'notification' AND dedup_key LIKE 'v3:%';

DROP INDEX notifications_kind_notified_id_idx;
CREATE INDEX notifications_kind_notified_id_idx ON notifications (kind, id DESC)
  WHERE status = 'accepted' AND source = 'notification' AND NOT hint;
-- What the pruning walks: the hints, and the refused requests (rejected, not hints).
CREATE INDEX notifications_hint_id_idx ON notifications (id DESC) WHERE hint;
CREATE INDEX notifications_refused_id_idx ON notifications (id DESC) WHERE status = 'rejected' AND NOT hint;

-- A hint-only order (one the service does not know) that its provider answers not found or
-- try-later three times leaves the schedule for good: abandoned_at is set and due_at is infinity,
-- so later hints are stored and counted but ask nothing. A registration or a verified
-- notification of the order brings it back.
ALTER TABLE provider_queries ADD COLUMN unknown_answers integer NOT NULL DEFAULT 0;
ALTER TABLE provider_queries ADD COLUMN abandoned_at timestamptz;

-- When the provider last answered about the order: a hint makes it due again no sooner than 10 s
-- after that, so an order is asked about at most once per 10 s however many hints arrive.
ALTER TABLE provider_queries ADD COLUMN answered_at timestamptz;
