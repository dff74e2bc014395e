-- Retention (RAW_BODY_RETENTION, ATTEMPT_LOG_RETENTION). A purged notification keeps its row, its
-- identity (dedup_key, msg_id) and its order: only the request body, the parsed request, the signed
-- text and the signature go, and request_purged_at says when. A delivered delivery's attempt rows
-- go; the delivery keeps attempts and delivered_at, and attempt_log_purged_at says when.
ALTER TABLE notifications ADD COLUMN request_purged_at timestamptz;
ALTER TABLE deliveries ADD COLUMN attempt_log_purged_at timestamptz;

-- The purge walks these from the oldest row still to purge; a purged row leaves the index, so a
-- batch never reads past the rows it purged before (first_received_at never changes; a duplicate's
-- update of last_received_at leaves this index alone).
CREATE INDEX notifications_unpurged_received_idx ON notifications (first_received_at)
  WHERE request_purged_at IS NULL AND status <> 'unverified';
CREATE INDEX deliveries_delivered_unpurged_idx ON deliveries (delivered_at)
  WHERE status = 'delivered' AND attempt_log_purged_at IS NULL;
