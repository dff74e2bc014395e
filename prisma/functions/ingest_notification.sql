-- Stores one notification read by its provider, in a single round trip and transaction.
-- Authentic ('accepted'): a repeat only counts; anything new goes through apply_report.
-- A hint ('unverified', StarPago v3): stored and never applied; the provider is asked about its
-- order soon (one query per order however many hints), and again when a hint repeats while the
-- order is not final, when hint_query_due() says, and never again once the order was abandoned as
-- unknown at the provider.
CREATE OR REPLACE FUNCTION ingest_notification(
  p_provider text, p_kind text, p_order_ref text, p_dedup_key text, p_msg_id text, p_status text,
  p_raw_state text, p_state text, p_amount bigint, p_paid_amount bigint, p_currency text, p_trx_date text,
  p_error_code text, p_error_message text,
  p_request jsonb, p_signed_text text, p_signature text,
  p_destinations text[], p_first_query_after interval
) RETURNS TABLE (outcome text, event_id text)
LANGUAGE plpgsql AS $$
DECLARE
  v_new boolean;
  v_order_final boolean;
  v_abandoned boolean;
  v_last_answer timestamptz;
BEGIN
  INSERT INTO notifications AS n (provider, kind, order_ref, dedup_key, msg_id, status, source, raw_state, state,
                                  request, signed_text, signature, hint)
  VALUES (p_provider, p_kind, p_order_ref, p_dedup_key, p_msg_id, p_status, 'notification', p_raw_state, p_state,
          p_request, p_signed_text, p_signature, p_status = 'unverified')
  ON CONFLICT (kind, order_ref, dedup_key) WHERE dedup_key NOT LIKE 'body:%'
  DO UPDATE SET delivery_count = n.delivery_count + 1, last_received_at = now()
  RETURNING (n.xmax = 0) INTO v_new;

  IF p_status = 'unverified' THEN
    SELECT state <> 'PENDING', last_queried_at INTO v_order_final, v_last_answer FROM orders WHERE kind = p_kind AND order_ref = p_order_ref;
    SELECT abandoned_at IS NOT NULL INTO v_abandoned FROM provider_queries WHERE kind = p_kind AND order_ref = p_order_ref;
    IF (v_new OR NOT coalesce(v_order_final, false)) AND NOT coalesce(v_abandoned, false) THEN
      -- a hint the provider denied earlier is asked about again while its order is open
      UPDATE notifications SET status = 'unverified', reason = NULL
      WHERE NOT v_new AND kind = p_kind AND order_ref = p_order_ref AND dedup_key = p_dedup_key AND status = 'rejected';
      -- hint_at on the clock, not the transaction's start: it is compared with a claim's time
      -- the last answer is the schedule row's, or the order's when the row is gone (a final order)
      INSERT INTO provider_queries AS q (kind, order_ref, provider, due_at, hint_at)
      VALUES (p_kind, p_order_ref, p_provider, hint_query_due(v_last_answer), clock_timestamp())
      ON CONFLICT ON CONSTRAINT provider_queries_pkey DO UPDATE SET
        due_at = least(q.due_at, hint_query_due(coalesce(q.answered_at, v_last_answer))), hint_at = clock_timestamp();
    END IF;
    RETURN QUERY SELECT CASE WHEN v_new THEN 'unverified' ELSE 'duplicate' END, NULL::text;
    RETURN;
  END IF;

  IF NOT v_new THEN
    RETURN QUERY SELECT 'duplicate'::text, NULL::text;
    RETURN;
  END IF;

  RETURN QUERY SELECT * FROM apply_report(
    p_provider, p_kind, p_order_ref, 'notification', p_raw_state, p_state, p_amount, p_paid_amount, p_currency,
    p_trx_date, p_error_code, p_error_message, p_destinations, p_first_query_after);
END;
$$;
