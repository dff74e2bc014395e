-- Stores a batch of notifications in one round trip and one transaction (group commit): each row
-- goes through ingest_notification(), so the batch applies the one state rule exactly as single
-- notifications do. Row i of every array is notification i, in arrival order; the result names
-- each row by that index.
--
-- Locks are taken in a fixed order so that concurrent batches (replicas included) cannot deadlock:
-- the rows are visited order by order, sorted by the order's lock key, then kind and reference;
-- before its first row an order's transaction-level advisory lock is taken, so every lock the rows
-- of one order take (their notification keys, the order row, its query slot) is taken under it.
-- Within an order, rows keep their arrival order: a PENDING followed by its SUCCESS moves the
-- order twice, as two requests would.
-- p_destinations: a JSON array holding each row's destination ids (an array of strings).
-- p_trace_parent: each row's W3C traceparent, stored with its event (events.trace_parent); NULL
-- when tracing is off, which costs nothing here.
CREATE OR REPLACE FUNCTION ingest_notifications(
  p_provider text[], p_kind text[], p_order_ref text[], p_dedup_key text[], p_msg_id text[], p_status text[],
  p_raw_state text[], p_state text[], p_amount bigint[], p_paid_amount bigint[], p_currency text[], p_trx_date text[],
  p_error_code text[], p_error_message text[],
  p_request jsonb[], p_signed_text text[], p_signature text[],
  p_destinations jsonb, p_first_query_after_ms double precision[], p_trace_parent text[]
) RETURNS TABLE (idx integer, outcome text, event_id text)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_locked bigint;
BEGIN
  FOR r IN
    SELECT u.*, hashtextextended(u.kind || '/' || u.order_ref, 0) AS lock_key
    FROM unnest(p_provider, p_kind, p_order_ref, p_dedup_key, p_msg_id, p_status, p_raw_state, p_state, p_amount,
                p_paid_amount, p_currency, p_trx_date, p_error_code, p_error_message, p_request, p_signed_text,
                p_signature, p_first_query_after_ms) WITH ORDINALITY
      AS u(provider, kind, order_ref, dedup_key, msg_id, status, raw_state, state, amount, paid_amount, currency,
           trx_date, error_code, error_message, request, signed_text, signature, first_query_after_ms, i)
    ORDER BY lock_key, u.kind, u.order_ref, u.i
  LOOP
    IF v_locked IS DISTINCT FROM r.lock_key THEN
      PERFORM pg_advisory_xact_lock(r.lock_key);
      v_locked := r.lock_key;
    END IF;
    IF p_trace_parent IS NOT NULL THEN
      PERFORM set_config('receiver.trace_parent', coalesce(p_trace_parent[r.i], ''), true);
    END IF;
    RETURN QUERY SELECT r.i::integer, s.outcome, s.event_id FROM ingest_notification(
      r.provider, r.kind, r.order_ref, r.dedup_key, r.msg_id, r.status, r.raw_state, r.state, r.amount, r.paid_amount,
      r.currency, r.trx_date, r.error_code, r.error_message, r.request, r.signed_text, r.signature,
      ARRAY(SELECT jsonb_array_elements_text(p_destinations -> (r.i::integer - 1))),
      r.first_query_after_ms * interval '1 millisecond') AS s;
  END LOOP;
END;
$$;
